"""Every chat command through `newsbot cmd`, as the console channel, against feeds on a loopback server."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
FEEDS = ROOT / "examples" / "feeds"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A loopback web server with the sample feeds and a page that announces one of them."""
    root = tmp_path_factory.mktemp("site")
    for f in FEEDS.glob("*.xml"):
        shutil.copy(f, root / f.name)
    (root / "index.html").write_text(
        "<html><head><title>Lakeside Courier</title>"
        '<link rel="alternate" type="application/atom+xml" title="Courier" href="/lakeside-courier.xml">'
        "</head><body>News</body></html>"
    )
    (root / "empty.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet Gazette</title>'
        "<link>https://quiet.example/</link><description>Nothing yet</description></channel></rss>"
    )
    (root / "one.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Single Sheet</title>'
        "<link>https://single.example/</link><description>One item</description>"
        "<item><title>The only story</title><link>https://single.example/only</link>"
        "<description>The only story there is, told once.</description></item></channel></rss>"
    )
    (root / "nofeed.html").write_text("<html><head><title>Nothing</title></head><body>Hi</body></html>")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def config(tmp_path: Path, sqlite_url: str) -> Path:
    """No feeds configured: the channel starts empty and everything comes from commands."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[bot]\ndatabase = "{sqlite_url}"\n[fetch]\nallow_private_networks = true\n[console]\ncolor = "never"\n'
    )
    return path


def cmd(config: Path, line: str, capsys: pytest.CaptureFixture[str], channel: str | None = None) -> tuple[int, str]:
    args = ["cmd", line, "--config", str(config)] + (["--channel", channel] if channel else [])
    code = main(args)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_help_and_unknown_commands(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cmd(config, "help", capsys)
    assert code == 0 and "subscribe <feed or site URL>" in out and "schedule off" in out
    assert cmd(config, "", capsys)[1].startswith("Commands:")
    assert cmd(config, "help search", capsys)[1].strip() == 'Usage: search <words or "a phrase">'
    code, out = cmd(config, "help nope", capsys)
    assert code == 1 and '"nope" is not a command' in out
    code, out = cmd(config, "frobnicate now", capsys)
    assert code == 1 and '"frobnicate" is not a command. Commands: subscribe, unsubscribe' in out


def test_subscribe_list_digest_search_unsubscribe(site: str, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cmd(config, f"subscribe {site}/pacific-wire.xml", capsys)
    assert code == 0, out
    assert f"Subscribed to Pacific Wire ({site}/pacific-wire.xml)." in out
    assert "The next digest brings its newest 3 items; older ones count as read." in out
    # a site URL works through its <link rel="alternate">; Slack's <url|label> form too
    code, out = cmd(config, f"subscribe <{site}/index.html|Lakeside>", capsys)
    assert code == 0 and f"({site}/lakeside-courier.xml)" in out, out
    code, out = cmd(config, f"subscribe {site}/pacific-wire.xml", capsys)
    assert code == 0 and "already follows Pacific Wire" in out

    code, out = cmd(config, "list", capsys)
    assert code == 0 and "This channel follows 2 feeds:" in out and "— ok" in out
    assert "No scheduled digest (only on demand)." in out

    code, out = cmd(config, "digest now", capsys)
    assert code == 0 and "Posted 6 stories." in out, out  # newest 3 of each feed, no flood
    assert out.count("  │ ") >= 18 and "Lumora" not in out  # the oldest Pacific Wire item counts as read
    code, out = cmd(config, "digest", capsys)
    assert code == 0 and "Nothing new since the last digest" in out

    code, out = cmd(config, 'search "South Korea"', capsys)
    assert code == 0 and "Top 1 for South Korea:" in out
    assert "1. NATO and South Korea agree to increase global cooperation" in out and "Pacific Wire" in out
    code, out = cmd(config, "search storm warning", capsys)
    assert "Storm warning issued for Port Alder" in out
    code, out = cmd(config, "search zeppelin", capsys)
    assert code == 0 and "No stories match zeppelin." in out
    # query syntax from users is inert text
    for weird in ('search NEAR(a b) OR "', "search *", "search -NATO", "search col:title AND"):
        code, out = cmd(config, weird, capsys)
        assert code == 0, out

    code, out = cmd(config, "unsubscribe 1", capsys)
    assert code == 0 and "Unsubscribed from Pacific Wire" in out
    code, out = cmd(config, f"unsubscribe {site}/pacific-wire.xml", capsys)
    assert code == 1 and "This channel does not follow" in out and "lakeside-courier.xml" in out
    assert "Usage: unsubscribe <feed URL or id>" in out


def test_subscribe_errors(site: str, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cmd(config, "subscribe", capsys)
    assert code == 1 and "Give one feed or site URL." in out and "Usage: subscribe" in out
    code, out = cmd(config, "subscribe a b", capsys)
    assert code == 1 and "only one URL" in out
    code, out = cmd(config, "subscribe ftp://x.example/feed", capsys)
    assert code == 1 and "unsupported scheme" in out
    code, out = cmd(config, f"subscribe {site}/nofeed.html", capsys)
    assert code == 1 and "That feed did not work" in out
    code, out = cmd(config, f"subscribe {site}/missing.xml", capsys)
    assert code == 1 and "HTTP 404" in out
    code, out = cmd(config, "list", capsys)
    assert "follows no feeds yet" in out  # nothing half-added


def test_local_paths_only_for_the_console(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cmd(config, f"subscribe {FEEDS / 'pacific-wire.xml'}", capsys)
    assert code == 0, out


SCHEDULE_USAGE = "Usage: schedule <HH:MM> [more times] [IANA time zone] [weekdays]  |  schedule off"


def test_schedule(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cmd(config, "schedule 8:30 Europe/Brussels mon-fri", capsys)
    assert code == 0 and out.strip() == "Digest at 08:30 Europe/Brussels, mon, tue, wed, thu, fri."
    code, out = cmd(config, "schedule 07:00 18:00 Europe/Brussels weekends", capsys)
    assert out.strip() == "Digest at 07:00, 18:00 Europe/Brussels, sat, sun."
    assert cmd(config, "schedule", capsys)[1].strip() == "Digest at 07:00, 18:00 Europe/Brussels, sat, sun."
    for bad, message in (
        ("schedule 25:00", '"25:00" is not a time of day (HH:MM)'),
        ("schedule 08:00 Mars/Olympus", '"Mars/Olympus" is not an IANA time zone'),
        ("schedule 08:00 someday", '"someday" is not a time (HH:MM)'),
        ("schedule Europe/Paris", "Give at least one time of day"),
    ):
        code, out = cmd(config, bad, capsys)
        assert code == 1 and message in out and "Usage: schedule <HH:MM>" in out, (bad, out)
    code, out = cmd(config, "schedule off", capsys)
    assert code == 0 and "Scheduled digests are off" in out
    assert "No scheduled digest" in cmd(config, "schedule", capsys)[1]


def test_schedule_replaces_the_whole_schedule(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd(config, "schedule 08:00 Asia/Tokyo weekends", capsys) == (0, "Digest at 08:00 Asia/Tokyo, sat, sun.\n")
    assert cmd(config, "schedule off", capsys) == (0, "Scheduled digests are off; digest now still works.\n")
    # what is left out is the default (bot.timezone = UTC, every day), not what an earlier command said
    assert cmd(config, "schedule 09:00", capsys) == (0, "Digest at 09:00 UTC, every day.\n")
    assert cmd(config, "schedule 07:30 Asia/Tokyo", capsys) == (0, "Digest at 07:30 Asia/Tokyo, every day.\n")
    assert cmd(config, "schedule 06:00 mon", capsys) == (0, "Digest at 06:00 UTC, mon.\n")
    assert cmd(config, "help schedule", capsys) == (
        0,
        f"{SCHEDULE_USAGE}\n"
        "Each schedule command replaces the whole schedule: a time zone or weekdays left out mean the "
        "default zone and every day.\n"
        "Zones are IANA names, as in the config: Europe/Paris, America/New_York, UTC, CET.\n",
    )


def test_schedule_zones_are_the_configs(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for line, reply in (
        ("schedule 08:00 Europe/Paris Asia/Tokyo", "Give one time zone, not two (Europe/Paris and Asia/Tokyo)."),
        ("schedule 08:00 europe/paris", '"europe/paris" is not an IANA time zone; did you mean Europe/Paris?'),
        ("schedule 08:00 Europe/Pari", '"Europe/Pari" is not an IANA time zone; did you mean Europe/Paris?'),
        ("schedule 08:00 utc", '"utc" is not an IANA time zone; did you mean UTC?'),
        ("schedule 08:00 Paris", '"Paris" is not an IANA time zone; did you mean Europe/Paris?'),
        ("schedule 08:00 new_york", '"new_york" is not an IANA time zone; did you mean America/New_York?'),
    ):
        assert cmd(config, line, capsys) == (1, f"{reply}\n{SCHEDULE_USAGE}\n"), line
    for line, reply in (
        ("schedule 08:00 Europe/Paris Europe/Paris", "Digest at 08:00 Europe/Paris, every day."),
        ("schedule 08:00 CET", "Digest at 08:00 CET, every day."),
    ):
        assert cmd(config, line, capsys) == (0, f"{reply}\n"), line


@pytest.mark.parametrize("zone", ["CET", "EST5EDT", "Japan", "Europe/Paris", "UTC"])
def test_every_zone_the_config_takes_the_command_takes(
    zone: str, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.config import load_settings

    toml = config.read_text() + f'[[subscriptions]]\nchannel = "console:#z"\nschedule = "08:00"\ntimezone = "{zone}"\n'
    config.write_text(toml)
    assert load_settings(config).subscriptions[0].timezone == zone
    assert cmd(config, f"schedule 08:00 {zone}", capsys) == (0, f"Digest at 08:00 {zone}, every day.\n")
    for refused in (zone.lower(), "Mars/Olympus"):
        if refused == zone:
            continue
        other = tmp_path / "other.toml"
        other.write_text(toml.replace(f'"{zone}"', f'"{refused}"'))
        with pytest.raises(ConfigError, match="is not an IANA time zone"):
            load_settings(other)
        assert cmd(config, f"schedule 08:00 {refused}", capsys)[0] == 1


def test_follow_unfollow_settings(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "follows no topics" in cmd(config, "follow", capsys)[1]
    code, out = cmd(config, "follow only on", capsys)
    assert code == 1 and "Follow a topic first" in out
    assert "Following South Korea" in cmd(config, 'follow "South Korea"', capsys)[1]
    assert "Already following" in cmd(config, "follow south korea", capsys)[1]
    assert "only followed topics" in cmd(config, "follow only on", capsys)[1]
    assert "Ranked first: South Korea. Only stories about them are shown." in cmd(config, "follow", capsys)[1]
    code, out = cmd(config, "unfollow Mars", capsys)
    assert code == 1 and "does not follow 'Mars'" in out and "Usage: unfollow" in out
    assert "No longer following south korea" in cmd(config, "unfollow south korea", capsys)[1]
    assert code == 1 and "Say which topic" in cmd(config, "unfollow", capsys)[1]

    code, out = cmd(config, "settings", capsys)
    assert "Stories per digest: 10" in out and "Summary sentences: 3" in out and "No-news line: off" in out
    code, out = cmd(config, "settings stories 5 sentences 1 nonews on", capsys)
    assert code == 0 and "Stories per digest: 5" in out and "Summary sentences: 1" in out and "on" in out
    for bad, message in (
        ("settings stories 99", "stories must be a whole number from 1 to 50"),
        ("settings sentences x", "sentences must be a whole number from 1 to 3"),
        ("settings nonews maybe", "nonews must be on or off"),
        ("settings colour red", "'colour' is not a setting"),
        ("settings stories", "name and value pairs"),
    ):
        code, out = cmd(config, bad, capsys)
        assert code == 1 and message in out and "Usage: settings" in out, (bad, out)


def test_digest_errors_and_no_news_line(site: str, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cmd(config, "digest later", capsys)
    assert code == 1 and "Unexpected 'later'" in out and "Usage: digest [now]" in out
    assert "follows no feeds yet" in cmd(config, "digest now", capsys)[1]
    assert "follows no feeds yet" in cmd(config, "search NATO", capsys)[1]
    cmd(config, f"subscribe {site}/lakeside-courier.xml", capsys)
    cmd(config, "digest now", capsys)
    cmd(config, "settings nonews on", capsys)
    code, out = cmd(config, "digest now", capsys)
    assert code == 0 and "· no new stories since the last digest" in out, out


def test_followed_topics_lead_and_follow_only_filters(
    site: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cmd(config, f"subscribe {site}/pacific-wire.xml", capsys)
    cmd(config, f"subscribe {site}/lakeside-courier.xml", capsys)
    cmd(config, "follow Lakeside District Council", capsys)
    code, out = cmd(config, "digest now", capsys)
    assert code == 0, out
    heads = [line for line in out.splitlines() if line.startswith("  │ ") and ". " in line[:8]]
    assert len(heads) == 6, out
    followed = {"parking", "garden"}  # the two stories that name the council
    assert {w for w in followed if w in heads[0] + heads[1]} == followed, heads


def test_follow_only_shows_just_those(site: str, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cmd(config, f"subscribe {site}/pacific-wire.xml", capsys)
    cmd(config, f"subscribe {site}/lakeside-courier.xml", capsys)
    cmd(config, "follow NATO", capsys)
    cmd(config, "follow only on", capsys)
    code, out = cmd(config, "digest now", capsys)
    assert code == 0 and "Posted 1 story." in out and "global cooperation" in out and "Storm" not in out


def test_changes_need_permission(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the console operator may; chat users without rights may not (checked in the router)
    import asyncio

    from bot.app import App
    from bot.config import load_settings
    from bot.models import ChannelRef, CommandRequest

    async def run() -> list[tuple[bool, str]]:
        app = App.open(load_settings(config), adapters={})
        out = []
        for line in (
            "subscribe https://a.example/feed",
            "unsubscribe 1",
            "schedule 08:00",
            "follow NATO",
            "unfollow NATO",
            "settings stories 3",
            "list",
            "help",
            "follow",
            "settings",
            "schedule",
        ):
            reply = await app.handle_command(CommandRequest(ChannelRef("slack", "C1"), "U1", line, can_manage=False))
            out.append((reply.ok, reply.text))
        await app.close()
        return out

    results = asyncio.run(run())
    for ok, text in results[:6]:
        assert not ok and "You are not allowed to change this channel's news" in text
    assert all(ok for ok, _ in results[6:]), results[6:]


def test_the_channels_manager_is_whoever_last_changed_its_news(config: Path) -> None:
    import asyncio

    from bot.app import App
    from bot.config import load_settings
    from bot.models import ChannelRef, CommandRequest

    channel = ChannelRef("slack", "C1")

    async def run() -> list[str | None]:
        app = App.open(load_settings(config), adapters={})
        seen = []
        for user, line, may in (
            ("U1", "follow NATO", True),  # a change: U1 manages the channel
            ("U2", "follow", True),  # only shows: no change
            ("U3", "follow Seoul", False),  # refused: no change
            ("U4", "follow nothing-here", True),  # a change by U4
            ("U5", "settings stories 0", True),  # an error reply: no change
        ):
            await app.handle_command(CommandRequest(channel, user, line, can_manage=may))
            seen.append(app.store.channel_manager(channel))
        await app.close()
        return seen

    assert asyncio.run(run()) == ["U1", "U1", "U1", "U4", "U4"]


def test_odd_input_gets_a_reply_not_a_crash(site: str, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cmd(config, f"subscribe {site}/pacific-wire.xml", capsys)
    code, out = cmd(config, "search NA\x00TO", capsys)
    assert code == 0 and ("Top" in out or "No stories match" in out), out
    code, out = cmd(config, "settings stories ²", capsys)
    assert code == 1 and "stories must be a whole number" in out
    code, out = cmd(config, "schedule 08:00 mon-funday", capsys)
    assert code == 1 and '"mon-funday" is not a time' in out


FOLLOW_USAGE = "Usage: follow <entity or keyword>  |  follow only on|off  |  follow"


def test_follow_only_takes_on_or_off_and_nothing_else(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    only_error = (1, f'After "only" give on or off: follow only on, or follow only off.\n{FOLLOW_USAGE}\n')
    for line in ("follow only maybe", "follow only", "follow only on now", "follow ONLY yes"):
        assert cmd(config, line, capsys) == only_error, line
    for line in ('follow ""', "follow '  '"):
        assert cmd(config, line, capsys) == (1, f"Give a topic to follow: a name or a keyword.\n{FOLLOW_USAGE}\n")
    assert cmd(config, 'unfollow ""', capsys) == (
        1,
        "Say which topic to stop following.\nUsage: unfollow <entity or keyword>\n",
    )
    assert cmd(config, "follow", capsys) == (0, f"This channel follows no topics. {FOLLOW_USAGE}\n")  # nothing made
    assert cmd(config, "follow NATO", capsys) == (0, "Following NATO: matching stories come first in digests.\n")
    assert cmd(config, "follow only ON", capsys) == (0, "Digests now show only followed topics.\n")
    assert cmd(config, "follow only off", capsys) == (0, "Digests show every story again, followed topics first.\n")
    assert cmd(config, "follow", capsys) == (0, "Ranked first: NATO.\n")
    assert cmd(config, "help follow", capsys) == (
        0,
        f"{FOLLOW_USAGE}\n"
        "follow only on shows only stories about followed topics; follow only off shows every story again.\n",
    )


def test_subscribe_answers(site: str, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for line, reply in (
        ("subscribe example.org", '"example.org" is not a URL; did you mean https://example.org ?'),
        (
            "subscribe news.example.org/feed.xml",
            '"news.example.org/feed.xml" is not a URL; did you mean https://news.example.org/feed.xml ?',
        ),
        (
            "subscribe ftp://x.example/feed",
            '"ftp://x.example/feed" has an unsupported scheme; only http and https feeds are fetched',
        ),
        (
            f"subscribe {site}/nofeed.html",
            "That feed did not work: this is a web page (HTML), not a feed; find the site's RSS or Atom link "
            "(often /feed, /rss or /atom.xml) and subscribe to that URL instead",
        ),
        (f"subscribe {site}/missing.xml", "That feed did not work: the server answered HTTP 404 File not found"),
    ):
        assert cmd(config, line, capsys) == (1, f"{reply}\nUsage: subscribe <feed or site URL>\n"), line
    assert cmd(config, f"subscribe {site}/empty.xml", capsys) == (
        0,
        f"Subscribed to Quiet Gazette ({site}/empty.xml).\nIt has no items yet; new ones come in the next digests.\n",
    )
    assert cmd(config, f"subscribe {site}/one.xml", capsys) == (
        0,
        f"Subscribed to Single Sheet ({site}/one.xml).\nThe next digest brings its item.\n",
    )


def test_chat_refuses_local_paths_without_blaming_the_setting(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from bot.app import App
    from bot.config import load_settings
    from bot.models import ChannelRef, CommandRequest

    config.write_text(config.read_text().replace("[fetch]\n", "[fetch]\nallow_local_files = true\n"))
    settings = load_settings(config)
    assert settings.fetch.allow_local_files
    path = str(FEEDS / "pacific-wire.xml")

    async def run() -> tuple[bool, str]:
        app = App.open(settings, adapters={})
        reply = await app.handle_command(CommandRequest(ChannelRef("slack", "C1"), "U1", f"subscribe {path}", True))
        await app.close()
        return reply.ok, reply.text

    ok, text = asyncio.run(run())
    assert not ok
    assert text == (
        f'"{path}" is a local path; only the console (newsbot cmd) reads local files; give an http(s) URL\n'
        "Usage: subscribe <feed or site URL>"
    )


def feeds(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["feeds", *args, "--config", str(config)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_feeds_add_finds_feeds_as_subscribe_does(site: str, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert feeds(config, capsys, "add", f"{site}/index.html", "--channel", "console:#tech") == (
        0,
        f'checked: "Lakeside Courier" with 3 items\nfeed 1: {site}/lakeside-courier.xml\n'
        "console:#tech now follows it\n",
        "",
    )
    # the same errors, in the same words, as `subscribe`
    assert feeds(config, capsys, "add", "example.org") == (
        1,
        "",
        'newsbot: "example.org" is not a URL; did you mean https://example.org ?\n',
    )
    assert feeds(config, capsys, "add", f"{site}/missing.xml") == (
        1,
        "",
        "newsbot: That feed did not work: the server answered HTTP 404 File not found\n",
    )
    assert cmd(config, f"subscribe {site}/missing.xml", capsys)[1].splitlines()[0] == (
        "That feed did not work: the server answered HTTP 404 File not found"
    )


def test_a_failed_feeds_add_leaves_nothing(site: str, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert feeds(config, capsys, "add", f"{site}/pacific-wire.xml", "--channel", "#tech") == (
        1,
        "",
        'newsbot: "#tech" is not a channel (expected "platform:channel", e.g. "console:#news")\n',
    )
    for bad in (f"{site}/nofeed.html", f"{site}/missing.xml", "example.org"):
        assert feeds(config, capsys, "add", bad)[0] == 1
    assert feeds(config, capsys, "list") == (0, "no feeds yet: `newsbot feeds add URL`\n", "")


def test_feeds_add_name_on_an_existing_feed(
    site: str, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{site}/pacific-wire.xml"
    assert feeds(config, capsys, "add", url)[1].endswith(f"feed 1: {url}\n")
    assert feeds(config, capsys, "add", url, "--name", "PW") == (
        0,
        f'checked: "Pacific Wire" with 4 items\nfeed 1 was already there: {url}; renamed "PW"\n',
        "",
    )
    assert feeds(config, capsys, "list")[1].startswith("  1  PW\n")
    assert feeds(config, capsys, "add", url)[1].endswith(f"feed 1 was already there: {url}\n")
    # a feed the config declares is named in the config: a name given here would not last
    config.write_text(config.read_text() + f'[[feeds]]\nurl = "{site}/harbor-ledger.xml"\nname = "Harbor"\n')
    assert feeds(config, capsys, "add", f"{site}/harbor-ledger.xml", "--name", "HL") == (
        1,
        'checked: "Harbor Ledger" with 4 items\n',
        f"newsbot: feed 2 ({site}/harbor-ledger.xml) is declared in {config}; set its name there "
        "(a name given here would be put back at the next start)\n",
    )
    assert "  2  Harbor\n" in feeds(config, capsys, "list")[1]
