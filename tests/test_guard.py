"""The address guard against every spelling of a private host, through the CLI as a user runs it.

A loopback server records every request it gets; each bypass form (fullwidth and other Unicode
digits and dots, circled digits, mixed forms, IPv6 forms) goes through `inspect feed`, the
`subscribe` chat command and a redirect from an allowed host, and the server must see 0 requests.
"""

from __future__ import annotations

import http.server
import ipaddress
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from bot.config import FetchSettings
from bot.errors import FetchRefusedError
from bot.ingest import guard
from bot.ingest.fetch import Fetcher
from bot.store.store import Store

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Secret</title></channel></rss>"

# spellings of 127.0.0.1 that yarl (and so aiohttp) maps to the IP literal; {port} is the server's
V4_FORMS = [
    "１２７.０.０.１",  # fullwidth digits
    "127。0。0。1",  # ideographic full stops
    "127．0．0．1",  # fullwidth full stops
    "127｡0｡0｡1",  # halfwidth ideographic full stops
    "①②⑦.⓪.⓪.①",  # circled digits
    "𝟏𝟐𝟕.𝟎.𝟎.𝟏",  # mathematical bold digits
    "1２7。0.０｡①",  # mixed
    "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
    "[::ffff:7f00:1]",  # the same, in hex
    "[0:0:0:0:0:ffff:7f00:1]",
]
V6_FORMS = ["[::1]", "[::１]", "[0:0:0:0:0:0:0:1]", "[0000::0001]"]


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str]
    redirect_to: list[str]  # empty: serve the feed; else redirect to its first URL

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.redirect_to:
            self.send_response(302)
            # as UTF-8 bytes, the way a hostile server would send it (send_header allows only Latin-1)
            self._headers_buffer.append(b"Location: " + self.redirect_to[0].encode("utf-8") + b"\r\n")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, *args: object) -> None:
        pass


class _Server:
    def __init__(self, host: str) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("S", (http.server.ThreadingHTTPServer,), {"address_family": family})
        self.hits: list[str] = []
        self.redirect_to: list[str] = []
        handler = type("H", (_Recorder,), {"hits": self.hits, "redirect_to": self.redirect_to})
        self.httpd = server_class((host, 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture
def victims() -> Iterator[dict[str, _Server]]:
    servers = {"v4": _Server("127.0.0.1")}
    if _has_ipv6_loopback():
        servers["v6"] = _Server("::1")
    yield servers
    for s in servers.values():
        s.close()


def _urls(victims: dict[str, _Server]) -> list[str]:
    urls = [f"http://{form}:{victims['v4'].port}/feed.xml" for form in V4_FORMS]
    if "v6" in victims:
        urls += [f"http://{form}:{victims['v6'].port}/feed.xml" for form in V6_FORMS]
    return urls


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[bot]\ndatabase = "sqlite:///{tmp_path / "newsbot.db"}"\n'
        "[fetch]\nallow_private_networks = false\ntimeout_seconds = 5\n"
        '[[subscriptions]]\nchannel = "console:#news"\nfeeds = []\n',
        encoding="utf-8",
    )
    return path


def _hits(victims: dict[str, _Server]) -> int:
    return sum(len(s.hits) for s in victims.values())


def test_inspect_feed_refuses_every_form(
    victims: dict[str, _Server], config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for url in _urls(victims):
        code = cli.main(["inspect", "feed", url, "--config", str(config)])
        out, err = capsys.readouterr()
        assert code == 1, (url, err)
        assert "refused:" in err and "loopback address" in err, (url, err)
        assert out == "" and "Traceback" not in err
    assert _hits(victims) == 0


def test_subscribe_refuses_every_form_and_stores_nothing(
    victims: dict[str, _Server], config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for url in _urls(victims):
        code = cli.main(["cmd", f"subscribe {url}", "--config", str(config)])
        out, _err = capsys.readouterr()
        assert code == 1, (url, out)
        assert "That feed did not work: refused:" in out, (url, out)
    assert _hits(victims) == 0
    store = Store.open(f"sqlite:///{tmp_path / 'newsbot.db'}")
    assert store.feeds() == []
    store.close()


def test_a_redirect_from_an_allowed_host_to_any_form_is_refused(
    victims: dict[str, _Server], config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # 127.0.0.2 stands in for a public feed host (the guard's test hook); it redirects to the victims
    monkeypatch.setattr(guard, "TEST_PUBLIC_NETWORKS", (ipaddress.ip_network("127.0.0.2/32"),))
    allowed = _Server("127.0.0.2")
    try:
        for target in _urls(victims):
            allowed.redirect_to[:] = [target]
            allowed.hits.clear()
            code = cli.main(["inspect", "feed", f"http://127.0.0.2:{allowed.port}/feed", "--config", str(config)])
            _out, err = capsys.readouterr()
            assert allowed.hits == ["/feed"]  # the allowed host was asked...
            assert code == 1 and "refused:" in err, (target, err)  # ...and its redirect was not followed
    finally:
        allowed.close()
    assert _hits(victims) == 0


async def test_metadata_and_private_forms_are_refused_before_connecting() -> None:
    f = Fetcher(FetchSettings(allow_private_networks=False, timeout_seconds=5))
    for url, why in (
        ("http://１６９.２５４.１６９.２５４/latest/meta-data", "link-local"),
        ("http://169。254。169。254/latest/meta-data", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://１０.０.０.１/", "private"),
        ("http://⑩.0.0.1/", "private"),
        ("http://[::ffff:a00:1]/", "private"),
        ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 of 10.0.0.1
    ):
        with pytest.raises(FetchRefusedError, match=f"refused: .* is a {why} address"):
            await f.fetch(url)
    await f.close()


async def test_names_are_checked_on_the_address_connected_to() -> None:
    f = Fetcher(FetchSettings(allow_private_networks=False, timeout_seconds=5))
    for host in ("localhost", "ＬＯＣＡＬＨＯＳＴ", "LocalHost"):
        with pytest.raises(FetchRefusedError, match="resolves to an address that is not allowed: .* loopback"):
            await f.fetch(f"http://{host}:9/feed")
    await f.close()


async def test_a_refusal_does_not_say_whether_the_port_is_open(victims: dict[str, _Server]) -> None:
    f = Fetcher(FetchSettings(allow_private_networks=False, timeout_seconds=5))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # bound, never listening: nothing answers there
    messages = []
    for port in (victims["v4"].port, closed):
        with pytest.raises(FetchRefusedError) as info:
            await f.fetch(f"http://１２７.０.０.１:{port}/feed")
        messages.append(str(info.value).replace(str(port), "PORT"))
    assert messages[0] == messages[1]
    await f.close()
    assert _hits(victims) == 0


async def test_the_hook_marks_only_what_it_names(victims: dict[str, _Server], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "TEST_PUBLIC_NETWORKS", (ipaddress.ip_network("127.0.0.1/32"),))
    f = Fetcher(FetchSettings(allow_private_networks=False, timeout_seconds=5))
    result = await f.fetch(f"http://１２７.０.０.１:{victims['v4'].port}/feed.xml")  # the same form, now allowed
    assert result.body == FEED and victims["v4"].hits == ["/feed.xml"]
    await f.close()


async def test_a_host_label_over_63_characters_is_a_clear_refusal() -> None:
    f = Fetcher(FetchSettings(allow_private_networks=False, timeout_seconds=5))
    with pytest.raises(FetchRefusedError, match="a part of 64 characters"):
        await f.fetch(f"http://{'a' * 64}.example/")
    await f.close()


async def test_the_socket_factory_alone_stops_every_form(victims: dict[str, _Server]) -> None:
    # without the fetcher's early look at the URL: aiohttp itself, with only the guard plugged in
    import aiohttp

    connector = aiohttp.TCPConnector(socket_factory=guard.AddressGuard().socket_factory)
    async with aiohttp.ClientSession(connector=connector) as session:
        for url in _urls(victims):
            with pytest.raises(aiohttp.ClientConnectorError) as info:
                await session.get(url)
            assert isinstance(info.value.os_error, guard.RefusedAddress), url
    assert _hits(victims) == 0


async def test_full_text_pages_go_through_the_same_guard(
    victims: dict[str, _Server], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.app import App
    from bot.config import settings_from_dict
    from bot.ingest.parse import parse_feed
    from tests.conftest import FixedClock

    urls = _urls(victims)
    items = "".join(
        f"<item><guid>g{i}</guid><title>Story {i}</title><link>{url}</link>"
        f"<description>Teaser {i}.</description></item>"
        for i, url in enumerate(urls)
    )
    feed_file = tmp_path / "teasers.xml"
    feed_file.write_text(f"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>{items}</channel></rss>")
    raw = {
        "bot": {"database": f"sqlite:///{tmp_path / 'newsbot.db'}"},
        "fetch": {"allow_private_networks": False, "allow_local_files": True, "timeout_seconds": 5},
        "digest": {"first_items": 50},
        "feeds": [{"url": str(feed_file), "full_text": True}],
    }
    app = App.open(settings_from_dict(raw, tmp_path / "config.toml"), adapters={}, clock=FixedClock())
    try:
        with caplog.at_level("INFO", logger="bot.ingest.poll"):
            report = await app.poll()
        assert report.failed == 0 and report.new_articles == len(urls)  # the teasers are kept
        refused = [r for r in caplog.records if "not fetched" in r.getMessage() and "refused:" in r.getMessage()]
        # every link the feed parser kept as an article URL was tried, and refused
        kept = [i.url for i in parse_feed(feed_file.read_bytes(), url=str(feed_file), now=FixedClock().now()).items]
        assert len(refused) == len([u for u in kept if u]) >= 3, caplog.text
    finally:
        await app.close()
    assert _hits(victims) == 0
