"""Full-text mode: a teaser-only feed's items get their article page's main text, through the guarded fetcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import App
from bot.config import settings_from_dict
from bot.errors import ConfigError
from bot.ingest import clean
from bot.ingest.clean import full_text_problem
from tests.conftest import FixedClock
from tests.fakes import FlakyAdapter

ARTICLE = """<html><head><title>Ferry fares</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<div class="share">Share this: Facebook Twitter Email</div>
<article><h1>Bluewater raises ferry fares</h1>
<p>Bluewater Ferries will raise fares on the Port Alder route by ten percent from January,
the operator said on Monday.</p>
<p>Chief executive Maria Lund said fuel and crew costs had risen faster than expected over the past two years.</p>
<p>Commuters who buy monthly passes will see a smaller rise of four percent, the company added in its statement.</p>
<p>The harbour council said it would ask the operator to publish its costs before the new fares take effect.</p>
</article>
<footer>Leave a Reply. Subscribe to our newsletter. All Rights Reserved.</footer></body></html>"""


def feed(base: str) -> str:
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Teasers</title><link>{base}/</link>
<item><guid>t1</guid><title>Bluewater raises ferry fares</title><link>{base}/ferry</link>
<description>Fares go up in January.</description><pubDate>Thu, 26 Nov 2026 07:00:00 GMT</pubDate></item>
<item><guid>t2</guid><title>Page that is gone</title><link>{base}/missing</link>
<description>A teaser whose page is gone.</description><pubDate>Thu, 26 Nov 2026 06:00:00 GMT</pubDate></item>
</channel></rss>"""


@pytest.fixture
async def site() -> AsyncIterator[str]:
    app = web.Application()
    holder: dict[str, str] = {}

    async def feed_xml(request: web.Request) -> web.Response:
        return web.Response(text=feed(holder["base"]), content_type="application/rss+xml")

    async def ferry(request: web.Request) -> web.Response:
        return web.Response(text=ARTICLE, content_type="text/html", charset="utf-8")

    app.router.add_get("/feed.xml", feed_xml)
    app.router.add_get("/ferry", ferry)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    holder["base"] = str(server.make_url("")).rstrip("/")
    yield holder["base"]
    await server.close()


@pytest.mark.parametrize("full_text", [True, False])
async def test_teasers_become_articles(site: str, sqlite_url: str, tmp_path: Path, full_text: bool) -> None:
    settings = settings_from_dict(
        {
            "bot": {"database": sqlite_url},
            "fetch": {"allow_private_networks": True},
            "feeds": [{"url": f"{site}/feed.xml", "name": "Teasers", "full_text": full_text}],
            "subscriptions": [{"channel": "console:#n"}],
        },
        tmp_path / "config.toml",
    )
    app = App.open(settings, clock=FixedClock(), adapters={"console": FlakyAdapter()})
    report = await app.poll()
    assert report.failed == 0 and report.new_articles == 2
    by_title = {a.title: a for arts in app.store.story_articles([1, 2]).values() for a in arts}
    ferry = by_title["Bluewater raises ferry fares"].text
    if full_text:
        assert "Chief executive Maria Lund said fuel and crew costs" in ferry
        assert "Share this" not in ferry and "Leave a Reply" not in ferry and "Home" not in ferry
    else:
        assert ferry == "Fares go up in January."
    assert by_title["Page that is gone"].text == "A teaser whose page is gone."  # a 404 keeps the teaser
    await app.close()


def test_trafilatura_is_importable_where_the_tests_run() -> None:
    # the dev extra installs what the fulltext extra does; without lxml_html_clean the import fails
    assert full_text_problem() is None


async def test_full_text_without_trafilatura_is_a_config_error_not_quiet_teasers(
    site: str, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> None:
        raise ImportError("lxml.html.clean module is now a separate project lxml_html_clean")

    monkeypatch.setattr(clean, "_trafilatura", missing)
    settings = settings_from_dict(
        {
            "bot": {"database": sqlite_url},
            "feeds": [{"url": f"{site}/other.xml"}, {"url": f"{site}/feed.xml", "full_text": True}],
        },
        tmp_path / "config.toml",
    )
    with pytest.raises(ConfigError) as caught:
        App.open(settings, clock=FixedClock(), adapters={"console": FlakyAdapter()})
    assert caught.value.key == "feeds[1].full_text"
    assert "lxml_html_clean" in caught.value.problem and "pip install -e '.[fulltext]'" in caught.value.problem
