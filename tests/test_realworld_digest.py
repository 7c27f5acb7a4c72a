"""A digest golden over ten real feeds from ../shared/data/feeds/realworld, served on loopback.

The feeds (news in English, German and Portuguese, reddit, Hacker News, an undated feed, teasers
cut short, release notes) go through the real App: config sync, poller, planner, console posting.
The publishers' text must not enter this repository, so the golden file holds each story's
position, feed file, language and the SHA-1 of its headline, summary and bolded names, never the
text itself; the readable digest is printed when the golden differs. The properties a reader
checks are asserted on the text: no headline repeated as summary, no boilerplate line, no
wordless item in the top 10, no common word in bold, nothing in bold in a non-English story.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import App
from bot.config import settings_from_dict
from bot.digest import load_digest
from bot.models import Span
from bot.nlp.language import is_english
from bot.ranking import title_has_words
from bot.store.schema import digests
from tests.conftest import SHARED, FixedClock

REALWORLD = SHARED / "data" / "feeds" / "realworld"
GOLDEN = Path(__file__).parent / "data" / "realworld_digest.golden"
FEEDS = (
    "rss_parser/guardian.rss",  # English news, live blogs, photo credits
    "rss_parser/heise.atom",  # German
    "rss_parser/encoding.rss",  # Portuguese
    "rss_parser/reddit-home.rss",  # "submitted by /u/x to /r/y [link] [comments]"
    "feedjira_2026/RSSWithComments.xml",  # Hacker News: headlines and nothing else
    "feedjira_2026/TechCrunch.xml",
    "speedparser_2011/0029.dat",  # Khaleej Times: no dates at all
    "speedparser_2011/0106.dat",  # CNN
    "feed_rs/rss2/rss_2.0_bbc.xml",  # teasers the feed cuts with "..."
    "rss_parser/gulp-atom.atom",  # release notes titled "v3.9.0"
)
BOILERPLATE = re.compile(
    r"submitted by|\[link\]|\[comments\]|appeared first on|continue reading|read more|\bgetty images\b"
    r"|photograph:|^advertisement|learn more|more\.\.\.",
    re.IGNORECASE,
)
COMMON = frozenset(
    """the a an and or but of to in on at for by with from as is are was were be been this that these those he
    she they we it its his her their our you i new first last more most one two after before over about into
    said says year years day week today yesterday tomorrow monday tuesday wednesday thursday friday saturday
    sunday people news update updates report video photos live""".split()
)

pytestmark = pytest.mark.skipif(not REALWORLD.is_dir(), reason="needs ../shared/data (the shared corpora)")


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=(REALWORLD / request.match_info["path"]).read_bytes(), content_type="application/xml")

    app = web.Application()
    app.router.add_get("/{path:.+}", serve)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    yield srv
    await srv.close()


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def spans(text: str, marks: tuple[Span, ...]) -> list[str]:
    return [text[m.start : m.end] for m in marks]


def words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.casefold()))


async def test_digest_of_ten_real_feeds(db_url: str, tmp_path: Path, server: TestServer) -> None:
    urls = [str(server.make_url(f"/{path}")) for path in FEEDS]
    settings = settings_from_dict(
        {
            "bot": {"database": db_url, "timezone": "UTC"},
            "console": {"color": "never"},
            "fetch": {"allow_private_networks": True, "timeout_seconds": 10},
            "digest": {"max_stories": 30},
            "subscriptions": [{"channel": "console:#real", "feeds": urls, "schedule": "07:00"}],
        },
        tmp_path / "config.toml",
    )
    out = io.StringIO()
    app = App.open(settings, clock=FixedClock(datetime(2026, 12, 3, 7, 0, tzinfo=UTC)), stream=out)
    try:
        report = await app.poll()
        assert report.failed == 0, report.errors
        assert [o.status for o in await app.digest_all()] == ["posted"]
        [sub] = app.store.subscriptions()
        row = app.store.digest(_posted_digest(app, sub.id))
        assert row is not None
        digest = load_digest(app.store, row, sub, settings.digest)
        by_story = app.store.story_articles(row.story_ids)
        feed_file = {f.id: f.url.split("/", 3)[-1] for f in app.store.feeds()}
    finally:
        await app.close()
    text = out.getvalue()
    assert len(digest.stories) == len(row.story_ids) >= 20
    _show(text)

    golden = []
    for position, story in enumerate(digest.stories, 1):
        rep = next(a for a in by_story[story.story_id] if a.title == story.title)
        english = is_english(rep.title, rep.text)
        names = spans(story.title, story.title_highlights) + spans(story.summary, story.highlights)
        golden.append(
            f"{position:>2} {feed_file[rep.feed_id]:<36} {'en' if english else '--'} title={sha(story.title)} "
            f"summary={sha(story.summary) if story.summary else '-':<12} bold={len(names)}:{sha('|'.join(names))}"
        )
        # what a reader checks, on the text itself
        where = (position, story.title)
        assert not story.summary or not words(story.summary) <= words(story.title), where
        assert not BOILERPLATE.search(story.summary), (where, story.summary)
        assert not story.summary.rstrip().endswith(("...", "…")), (where, story.summary)
        for name in names:
            assert name.casefold() not in COMMON and (name[:1].isupper() or name[:1].isdigit()), (where, name)
        if not english:
            assert not names, where
        if position <= 10:
            assert title_has_words(story.title), where
    got = "\n".join(golden) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(got, encoding="utf-8")
    assert got == GOLDEN.read_text(encoding="utf-8"), "the digest changed; read it and update the golden:\n" + text


def _show(text: str) -> None:
    """SHOW_DIGEST=file writes the readable digest there, for reviewing it line by line."""
    if os.environ.get("SHOW_DIGEST"):
        Path(os.environ["SHOW_DIGEST"]).write_text(text, encoding="utf-8")


def _posted_digest(app: App, subscription_id: int) -> int:
    with app.store.engine.connect() as conn:
        return int(
            conn.scalar(
                sa.select(sa.func.max(digests.c.id)).where(
                    digests.c.subscription_id == subscription_id, digests.c.status == "posted"
                )
            )
        )
