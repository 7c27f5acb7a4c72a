"""Feeds that carry the same items: each channel gets every story of its feeds exactly once.

Real feeds served on loopback, the real App (config sync, poller, planner, console posting), on
SQLite and PostgreSQL: two overlapping feeds, a mirror of one at another address, a tracking
parameter variant of its URL, three channels; then the no-flood rule and feed removal with overlap.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import App
from bot.config import Settings, settings_from_dict
from bot.digest import settle_backlog
from bot.models import ChannelRef
from bot.store import migrate
from bot.store.engine import create_engine
from bot.store.schema import digests
from tests.conftest import FixedClock

START = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
TOPICS = {
    "a1": "Harbor bridge reopens after two years of repairs to its deck",
    "a2": "School board approves a new science building for Westbridge",
    "a3": "Ferry operator orders two electric boats for the island route",
    "a4": "Library adds Sunday opening hours after a grant from a foundation",
    "a5": "Storm warning issued for the coast with gusts of 110 km/h",
    "b1": "Orchestra announces a free concert series in the city parks",
    "b2": "Farmers market moves to the old rail yard for the winter",
    "b3": "Council delays the vote on lakeshore parking charges",
    "b4": "Hospital opens a night clinic for children on weekends",
    "a6": "Water utility plans a second reservoir north of the city",
}


def item(key: str, age_minutes: int, *, guid: str | None = None, link_suffix: str = "") -> str:
    title = TOPICS[key]
    return (
        f"<item><title>{title}</title><link>https://daily.example/{key}{link_suffix}</link>"
        f"<guid isPermaLink='false'>{guid or 'https://daily.example/' + key}</guid>"
        f"<pubDate>{format_datetime(START - timedelta(minutes=age_minutes))}</pubDate>"
        f"<description>{title}. The report was published on {key} by the local desk, "
        f"which follows the {key} story closely.</description></item>"
    )


def rss(title: str, items: list[str]) -> bytes:
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title>"
        f"<link>https://daily.example/</link>{''.join(items)}</channel></rss>"
    ).encode()


class Site:
    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.stale_etag: str | None = None  # a validator answered with 304 whatever the body is now

    async def serve(self, request: web.Request) -> web.Response:
        if self.stale_etag is not None and request.headers.get("If-None-Match") == self.stale_etag:
            return web.Response(status=304)
        return web.Response(body=self.bodies[request.path], content_type="application/rss+xml")


@pytest.fixture
async def site() -> AsyncIterator[tuple[Site, TestServer]]:
    s = Site()
    app = web.Application()
    app.router.add_get("/{tail:.*}", s.serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield s, server
    await server.close()


def feed_a(*extra: str) -> bytes:
    return rss("Daily - World", [*extra, item("a1", 10), item("a2", 20), item("a3", 30), item("a4", 40)])


def feed_b(*extra: str) -> bytes:
    # a1 under the same GUID and link; a3 under its own GUID and a tracking-parameter link
    return rss(
        "Daily - Local",
        [
            *extra,
            item("a1", 10),
            item("b1", 15),
            item("a3", 30, guid="local-77", link_suffix="?utm_source=local"),
            item("b2", 50),
        ],
    )


def config(db_url: str, tmp_path: Path, *, first_items: int, subscriptions: list[dict[str, Any]]) -> Settings:
    return settings_from_dict(
        {
            "bot": {"database": db_url, "timezone": "UTC"},
            "console": {"color": "never"},
            "fetch": {"allow_private_networks": True, "timeout_seconds": 5},
            "digest": {"first_items": first_items},
            "subscriptions": subscriptions,
        },
        tmp_path / "config.toml",
    )


def delivered(app: App, channel: str) -> list[str]:
    """The title of every story posted to the channel, in every digest so far (repeats kept)."""
    sub = app.store.subscription(ChannelRef.parse(channel))
    assert sub is not None
    titles = []
    for digest_id in _posted_digest_ids(app, sub.id):
        row = app.store.digest(digest_id)
        assert row is not None
        by_story = app.store.story_articles(row.story_ids)
        titles += [by_story[sid][0].title for sid in row.story_ids]
    return titles


def _posted_digest_ids(app: App, subscription_id: int) -> list[int]:
    with app.store.engine.connect() as conn:
        return list(
            conn.scalars(
                sa.select(digests.c.id)
                .where(digests.c.subscription_id == subscription_id, digests.c.status == "posted")
                .order_by(digests.c.id)
            )
        )


def titles(*keys: str) -> list[str]:
    return sorted(TOPICS[k] for k in keys)


async def test_each_channel_gets_every_story_of_its_feeds_exactly_once(
    db_url: str, tmp_path: Path, site: tuple[Site, TestServer]
) -> None:
    s, server = site
    s.bodies = {"/a.xml": feed_a(), "/mirror/a.xml": feed_a(), "/b.xml": feed_b()}
    url = lambda path: str(server.make_url(path))  # noqa: E731
    settings = config(
        db_url,
        tmp_path,
        first_items=10,
        subscriptions=[
            {"channel": "console:#world", "feeds": [url("/a.xml")], "schedule": "07:00"},
            # b and a mirror of a: the mirror's items were all fetched first by a
            {"channel": "console:#local", "feeds": [url("/b.xml"), url("/mirror/a.xml")], "schedule": "07:00"},
            # a tracking-parameter variant of a's address is a itself; b overlaps it
            {
                "channel": "console:#both",
                "feeds": [url("/a.xml?utm_source=newsletter"), url("/b.xml")],
                "schedule": "07:00",
            },
        ],
    )
    clock = FixedClock(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    out = io.StringIO()
    app = App.open(settings, clock=clock, stream=out)
    try:
        assert sorted(f.url for f in app.store.feeds()) == sorted([url("/a.xml"), url("/b.xml"), url("/mirror/a.xml")])
        report = await app.poll()
        assert report.failed == 0, report.errors
        # six distinct items among the three feeds: each stored once
        assert report.new_articles == 6
        outcomes = await app.digest_all()
        assert sorted(o.status for o in outcomes) == ["posted"] * 3
        assert sorted(delivered(app, "console:#world")) == titles("a1", "a2", "a3", "a4")
        assert sorted(delivered(app, "console:#local")) == titles("a1", "a2", "a3", "a4", "b1", "b2")
        assert sorted(delivered(app, "console:#both")) == titles("a1", "a2", "a3", "a4", "b1", "b2")
        first_text = out.getvalue()
        for key in ("a1", "a3"):  # the shared items, once in each of the three digests
            assert first_text.count(f". {TOPICS[key]}\n") == 3, key

        # a day later a new item in a (and so in its mirror) and one in b
        clock.advance(days=1)
        new_a = item("a5", -60 * 23)
        s.bodies = {"/a.xml": feed_a(new_a), "/mirror/a.xml": feed_a(new_a), "/b.xml": feed_b(item("b3", -60 * 23))}
        report = await app.poll()
        assert report.failed == 0 and report.new_articles == 2
        await app.digest_all()
        assert sorted(delivered(app, "console:#world")) == titles("a1", "a2", "a3", "a4", "a5")
        assert sorted(delivered(app, "console:#local")) == titles("a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3")
        assert sorted(delivered(app, "console:#both")) == titles("a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3")

        # removing a keeps what the mirror and b carry: their articles pass to them
        a = app.store.find_feed(url("/a.xml?utm_source=x"))
        assert a is not None and a.url == url("/a.xml")
        app.store.remove_feed(a.id)
        mirror = app.store.find_feed(url("/mirror/a.xml"))
        assert mirror is not None
        hits = app.store.search_articles(["electric", "boats"], [mirror.id])
        assert len(hits) == 1, "a3 is still found through the mirror that carries it"
        clock.advance(days=1)
        s.bodies["/mirror/a.xml"] = feed_a(item("a6", -60 * 47), new_a)
        report = await app.poll()
        assert report.failed == 0 and report.new_articles == 1
        await app.digest_all()
        assert sorted(delivered(app, "console:#local")) == titles("a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2", "b3")
    finally:
        await app.close()


async def test_no_flood_keeps_a_story_another_followed_feed_brings(
    db_url: str, tmp_path: Path, site: tuple[Site, TestServer]
) -> None:
    """A new feed's old items are set aside, but not the ones another feed of the channel brings
    among its newest, nor the ones a feed the channel already follows has not posted yet."""
    s, server = site
    # b lists a1 and a3 among its old items; a lists them among its newest two
    s.bodies = {
        "/a.xml": rss("A", [item("a1", 10), item("a3", 20), item("a2", 300), item("a4", 400)]),
        "/b.xml": rss("B", [item("b1", 5), item("b2", 6), item("a1", 500), item("a3", 600)]),
    }
    url = lambda path: str(server.make_url(path))  # noqa: E731
    settings = config(
        db_url,
        tmp_path,
        first_items=2,
        subscriptions=[{"channel": "console:#n", "feeds": [url("/a.xml"), url("/b.xml")], "schedule": "07:00"}],
    )
    clock = FixedClock(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    app = App.open(settings, clock=clock, stream=io.StringIO())
    try:
        assert (await app.poll()).failed == 0
        await app.digest_all()
        # a's newest two and b's newest two; a2 and a4 (old in a, absent from b) are set aside
        assert sorted(delivered(app, "console:#n")) == titles("a1", "a3", "b1", "b2")

        # later the channel follows c, whose newest two are new; c also lists b1 (posted already) and
        # a5, which came in a since the last digest: a5 is not set aside as c's backlog, it comes from a
        s.bodies["/a.xml"] = rss("A", [item("a5", -60), item("a1", 10), item("a3", 20), item("a2", 300)])
        s.bodies["/c.xml"] = rss("C", [item("b4", -80), item("b3", -70), item("a5", 700), item("b1", 5)])
        clock.advance(hours=2)
        sub = app.store.subscription(ChannelRef.parse("console:#n"))
        assert sub is not None
        c = app.store.add_feed(url("/c.xml"), clock.now())
        app.store.subscribe(sub.id, [c], clock.now())
        assert (await app.poll()).failed == 0
        assert settle_backlog(app.store, sub, settings.digest, clock.now(), clock.now()) == 0
        clock.advance(days=1)
        await app.digest_all()
        assert sorted(delivered(app, "console:#n")) == titles("a1", "a3", "a5", "b1", "b2", "b3", "b4")
    finally:
        await app.close()


async def test_after_the_upgrade_a_feed_that_lost_shared_items_gets_them(
    empty_db_url: str, tmp_path: Path, site: tuple[Site, TestServer]
) -> None:
    """A database from before 0009: b's copy of a1 was dropped as a duplicate of a's. The upgrade
    clears the feeds' validators, so the next poll reads b in full (not a 304) and links a1 to it."""
    s, server = site
    a_url, b_url = str(server.make_url("/a.xml")), str(server.make_url("/b.xml"))
    s.bodies = {"/a.xml": feed_a(), "/b.xml": feed_b()}
    engine = create_engine(empty_db_url)
    migrate.upgrade(engine, "0008")
    now = datetime(2026, 11, 27, 6, 30)
    with engine.begin() as conn:
        for sql, params in [
            (
                "INSERT INTO feeds (id, url, added_at, failure_count, paused, from_config, etag, body_hash, "
                "last_checked_at, last_status) VALUES (:id, :url, :now, 0, false, false, '\"v1\"', 'old', :now, 200)",
                [{"id": 1, "url": a_url, "now": now}, {"id": 2, "url": b_url, "now": now}],
            ),
            (
                "INSERT INTO stories (id, title, first_seen_at, updated_at, sources) VALUES (1, :t, :now, :now, 1)",
                [{"t": TOPICS["a1"], "now": now}],
            ),
            (
                "INSERT INTO articles (id, feed_id, guid, url, canonical_url, title, text, published_at, "
                "first_seen_at, content_hash, summary, entities, shingles, story_id) VALUES (1, 1, "
                "'https://daily.example/a1', 'https://daily.example/a1', 'https://daily.example/a1', :t, :t, "
                ":now, :now, 'h1', :summary, '[]', '[]', 1)",
                [{"t": TOPICS["a1"], "now": now, "summary": json.dumps([TOPICS["a1"] + "."])}],
            ),
            (
                "INSERT INTO subscriptions (id, platform, channel, schedule, timezone, weekdays, created_at, "
                "from_config) VALUES (:id, 'console', :channel, '[]', 'UTC', '[]', :now, false)",
                [{"id": 1, "channel": "#world", "now": now}, {"id": 2, "channel": "#local", "now": now}],
            ),
            (
                "INSERT INTO subscription_feeds (subscription_id, feed_id, added_at) VALUES (:s, :f, :now)",
                [{"s": 1, "f": 1, "now": now}, {"s": 2, "f": 2, "now": now}],
            ),
            (
                "INSERT INTO digests (id, subscription_id, scheduled_for, created_at, status, title) "
                "VALUES (1, 1, :now, :now, 'posted', 'News')",
                [{"now": now}],
            ),
            ("INSERT INTO digest_items (digest_id, position, story_id) VALUES (1, 1, 1)", [{}]),
        ]:
            conn.execute(sa.text(sql), params)
        if conn.dialect.name == "postgresql":  # rows given their ids: move the sequences past them
            for table in ("feeds", "stories", "articles", "subscriptions", "digests"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)"))
    engine.dispose()

    s.stale_etag = '"v1"'  # the validators stored before the upgrade would get a 304
    settings = config(empty_db_url, tmp_path, first_items=10, subscriptions=[])
    app = App.open(settings, clock=FixedClock(datetime(2026, 11, 27, 7, 0, tzinfo=UTC)), stream=io.StringIO())
    try:
        assert (await app.poll()).failed == 0
        await app.digest_all()
        assert sorted(delivered(app, "console:#local")) == titles("a1", "a3", "b1", "b2")
        assert sorted(delivered(app, "console:#world")) == titles("a1", "a2", "a3", "a4")  # a1 once, from before
    finally:
        await app.close()
