"""The poller against a real HTTP server on loopback: validators, body hash, Retry-After, backoff,
pausing and resuming with notices, caps, content types, the address guard, due feeds, one fetch per URL."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer

import bot.ingest.parse as parse_module
import bot.store.articles as articles_module
from bot.app import App
from bot.config import Settings, settings_from_dict
from bot.errors import PostError
from bot.ingest.fetch import Fetcher
from bot.ingest.poll import format_report, poll_feeds
from bot.ingest.service import StoryIndexCache
from bot.models import ChannelRef, PollReport, PostedMessage
from bot.storage import Storage
from bot.store.errors import translate
from bot.store.feeds import FeedSchedule
from bot.store.store import Store
from tests.conftest import FixedClock

NEWS = ChannelRef("console", "#news")
OTHER = ChannelRef("console", "#other")


def rss(n: int, *, start: datetime = datetime(2026, 11, 27, 6, 0, tzinfo=UTC), gap_minutes: int = 20) -> bytes:
    items = "".join(
        f"<item><title>Story {i}</title><link>https://news.example/{i}</link><guid>g{i}</guid>"
        f"<pubDate>{format_datetime(start - timedelta(minutes=gap_minutes * i))}</pubDate>"
        f"<description>&lt;p&gt;Body of story {i}, long enough to read.&lt;/p&gt;</description></item>"
        for i in range(n)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title>"
        f"<link>https://news.example/</link>{items}</channel></rss>"
    ).encode()


@dataclass
class Site:
    """What the fake server answers per path; tests change it between polls."""

    handlers: dict[str, Callable[[web.Request], Any]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    seen_headers: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.hits[name] = self.hits.get(name, 0) + 1
        self.seen_headers.setdefault(name, []).append(dict(request.headers))
        result = self.handlers[name](request)
        if asyncio.iscoroutine(result):
            result = await result
        assert isinstance(result, web.StreamResponse)
        return result


def with_etag(body: bytes, etag: str, **headers: str) -> Callable[[web.Request], web.Response]:
    def handler(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag, **headers})
        return web.Response(body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml", **headers})

    return handler


def plain(body: bytes, content_type: str = "application/rss+xml", **headers: str) -> Callable[..., web.Response]:
    return lambda request: web.Response(body=body, headers={"Content-Type": content_type, **headers})


def status(code: int, **headers: str) -> Callable[..., web.Response]:
    return lambda request: web.Response(status=code, headers=headers)


@pytest.fixture
async def site() -> AsyncIterator[tuple[Site, TestServer]]:
    s = Site()
    app = web.Application()
    app.router.add_get("/f/{name}", s.dispatch)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield s, server
    await server.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_from_dict(
        {
            "bot": {"database": f"sqlite:///{tmp_path / 'poll.db'}"},
            "fetch": {"allow_private_networks": True, "timeout_seconds": 2},
        },
        tmp_path / "config.toml",
    )


class Rig:
    """A store, a fetcher and a clock around the fake site."""

    def __init__(self, db_url: str, settings: Settings, site: Site, server: TestServer) -> None:
        self.db_url = db_url
        self.store = Store.open(db_url)
        self.storage = Storage(self.store, translate=translate)
        self.stories = StoryIndexCache(settings.digest.cluster_hours)  # the ingest service's, kept between passes
        self.settings = settings
        self.fetcher = Fetcher(settings.fetch)
        self.clock = FixedClock()
        self.site = site
        self.server = server

    def feed(self, name: str, handler: Callable[..., Any], *channels: ChannelRef) -> int:
        self.site.handlers[name] = handler
        feed_id = self.store.add_feed(str(self.server.make_url(f"/f/{name}")), self.clock.now())
        for channel in channels:
            sub = self.store.ensure_subscription(channel, self.clock.now())
            self.store.subscribe(sub, [feed_id], self.clock.now())
        return feed_id

    async def poll(self, *, due_only: bool = False, **kw: Any) -> PollReport:
        return await poll_feeds(
            self.storage, self.fetcher, self.settings, self.clock, self.stories, due_only=due_only, **kw
        )

    def state(self, feed_id: int) -> FeedSchedule:
        return self.store.feed_schedules([feed_id])[0]


@pytest.fixture
async def rig(db_url: str, settings: Settings, site: tuple[Site, TestServer]) -> AsyncIterator[Rig]:
    r = Rig(db_url, settings, *site)
    yield r
    await r.fetcher.close()
    r.storage.close()
    r.store.close()


async def test_200_then_304_then_an_etag_change(rig: Rig) -> None:
    fid = rig.feed("a", with_etag(rss(3), '"v1"'))
    first = await rig.poll()
    assert (first.feeds, first.ok, first.new_articles, first.failed) == (1, 1, 3, 0)
    second = await rig.poll()
    assert (second.not_modified, second.new_articles) == (1, 0)
    assert rig.site.seen_headers["a"][1]["If-None-Match"] == '"v1"'
    rig.site.handlers["a"] = with_etag(rss(4, start=datetime(2026, 11, 27, 6, 20, tzinfo=UTC)), '"v2"')
    third = await rig.poll()
    assert (third.ok, third.new_articles) == (1, 1)
    assert rig.state(fid).feed.etag == '"v2"'
    assert format_report(third).startswith("polled 1 feeds: 1 new content, 0 not modified (304), 0 unchanged")


async def test_the_same_body_without_validators_is_not_parsed_again(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    rig.feed("a", plain(rss(2)))
    calls = []
    real = parse_module.parse_feed
    monkeypatch.setattr(parse_module, "parse_feed", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert (await rig.poll()).ok == 1
    again = await rig.poll()
    assert (again.unchanged, again.ok, len(calls)) == (1, 0, 1)


async def test_one_fetch_per_url_however_many_channels_and_only_due_feeds(rig: Rig) -> None:
    rig.feed("a", with_etag(rss(2), '"x"'), NEWS, OTHER)
    assert (await rig.poll(due_only=True)).feeds == 1
    assert rig.site.hits["a"] == 1
    assert (await rig.poll(due_only=True)).feeds == 0  # not due again yet
    rig.clock.advance(days=1)
    assert (await rig.poll(due_only=True)).feeds == 1
    assert rig.site.hits["a"] == 2


async def test_next_checks_follow_the_posting_rate_with_jitter_and_cache_headers(rig: Rig) -> None:
    busy = rig.feed("busy", with_etag(rss(10, gap_minutes=2), '"b"'))  # a post every 2 min
    quiet = rig.feed("quiet", with_etag(rss(3, gap_minutes=60 * 24 * 3), '"q"'))  # every 3 days
    cached = rig.feed("cached", with_etag(rss(10, gap_minutes=5), '"c"', **{"Cache-Control": "max-age=7200"}))
    await rig.poll()
    now = rig.clock.now()
    b, q, c = rig.state(busy), rig.state(quiet), rig.state(cached)
    assert b.interval_seconds == 600 and q.interval_seconds == 360 * 60  # clamped to min / max
    assert b.next_check_at and now + timedelta(minutes=5) <= b.next_check_at <= now + timedelta(minutes=15)
    assert c.next_check_at and c.next_check_at >= now + timedelta(hours=2)
    assert b.next_check_at != c.next_check_at  # the same interval lands on different slots


async def test_retry_after_on_429_is_honoured(rig: Rig) -> None:
    fid = rig.feed("a", status(429, **{"Retry-After": "3600"}))
    report = await rig.poll(due_only=True)
    assert report.failed == 1 and "HTTP 429" in report.errors[0] and "wait 3600" in report.errors[0]
    state = rig.state(fid)
    assert state.feed.last_status == 429
    assert state.next_check_at and state.next_check_at >= rig.clock.now() + timedelta(hours=1)
    rig.clock.advance(minutes=59)
    assert (await rig.poll(due_only=True)).feeds == 0
    rig.clock.current = state.next_check_at
    assert (await rig.poll(due_only=True)).feeds == 1


async def test_failures_back_off_then_pause_and_tell_once_then_resume_and_tell_once(rig: Rig) -> None:
    fid = rig.feed("a", status(500), NEWS, OTHER)
    gaps = []
    notices = []
    for _ in range(10):
        report = await rig.poll(due_only=True)
        assert report.feeds == 1 and report.failed == 1
        notices += report.notices
        state = rig.state(fid)
        assert state.next_check_at is not None
        gaps.append(state.next_check_at - rig.clock.now())
        rig.clock.current = state.next_check_at
    assert gaps == sorted(gaps) and gaps[0] < timedelta(hours=1) < gaps[-1]
    state = rig.state(fid)
    assert state.feed.paused and state.feed.failure_count == 10 and state.pause_notified
    assert sorted(str(c) for c, _ in notices) == sorted([str(NEWS), str(OTHER)])
    text = notices[0][1]
    assert "is paused: it failed 10 times in a row" in text and "HTTP 500" in text
    # still failing: tried again a day later, nobody is told twice (not even after a restart)
    rig.store.close()
    rig.store = Store.open(rig.db_url)
    again = await rig.poll(due_only=True)
    assert again.feeds == 1 and again.notices == []
    rig.site.handlers["a"] = plain(rss(1))
    rig.clock.current = rig.state(fid).next_check_at or rig.clock.now()
    back = await rig.poll(due_only=True)
    assert back.ok == 1 and sorted(str(c) for c, _ in back.notices) == sorted([str(NEWS), str(OTHER)])
    assert "works again" in back.notices[0][1]
    state = rig.state(fid)
    assert not state.feed.paused and state.feed.failure_count == 0 and not state.pause_notified
    rig.clock.advance(days=1)
    assert (await rig.poll(due_only=True)).notices == []


async def test_broken_servers_fail_alone_with_clear_errors(rig: Rig, settings: Settings) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        return web.Response(body=rss(1))

    def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.path)

    def huge(request: web.Request) -> web.Response:
        return web.Response(body=b"<rss>" + b" " * (2 * 1024 * 1024))

    html = b"<!doctype html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>"
    rig.settings = settings_from_dict(
        {
            "bot": {"database": settings.database_url},
            "fetch": {"allow_private_networks": True, "timeout_seconds": 0.3, "max_body_mb": 1},
        },
        settings.path,
    )
    rig.fetcher = Fetcher(rig.settings.fetch)
    rig.feed("good", plain(rss(2)))
    rig.feed("loop", loop)
    rig.feed("slow", slow)
    rig.feed("huge", huge)
    rig.feed("html", plain(html, "text/html"))
    rig.feed("octets", plain(rss(1), "application/octet-stream"))  # wrong Content-Type, still a feed
    rig.feed("textplain", plain(rss(1), "text/html; charset=utf-8"))
    gz = gzip.compress(rss(2))
    rig.feed("gz", lambda r: web.Response(body=gz, headers={"Content-Encoding": "gzip"}))
    report = await rig.poll()
    assert (report.feeds, report.ok, report.failed) == (8, 4, 4)
    errors = "\n".join(report.errors)
    assert "more than 5 redirects" in errors
    assert "no complete answer within 0.3 s" in errors
    assert "1 MiB cap" in errors
    assert "this is a web page (HTML), not a feed" in errors


async def test_guard_refuses_private_targets_during_a_poll(db_url: str, tmp_path: Path) -> None:
    guarded = settings_from_dict({"fetch": {"timeout_seconds": 2}}, tmp_path / "c.toml")
    store = Store.open(db_url)
    clock = FixedClock()
    fid = store.add_feed("http://10.1.2.3/feed", clock.now())
    store.add_feed("http://localhost:9/feed", clock.now())
    fetcher = Fetcher(guarded.fetch)
    storage = Storage(store, translate=translate)
    report = await poll_feeds(storage, fetcher, guarded, clock, StoryIndexCache(guarded.digest.cluster_hours))
    await fetcher.close()
    storage.close()
    assert report.failed == 2
    assert "refused: 10.1.2.3 is a private address" in report.errors[0]
    assert "localhost resolves to" in report.errors[1] and "loopback address" in report.errors[1]
    assert store.feed_schedules([fid])[0].feed.last_error is not None
    store.close()


async def test_two_pollers_never_fetch_one_feed_at_once(rig: Rig) -> None:
    async def slowish(request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        return web.Response(body=rss(1))

    rig.feed("a", slowish)
    first, second = await asyncio.gather(rig.poll(due_only=True), rig.poll(due_only=True))
    assert sorted((first.feeds, second.feeds)) == [0, 1]
    assert rig.site.hits["a"] == 1


class NoticeBoard:
    """A chat platform that takes notices, refusing them while `refuse` holds an error."""

    name = "console"

    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []
        self.refuse: Exception | None = None

    async def post_notice(self, channel: ChannelRef, text: str) -> PostedMessage:
        if self.refuse is not None:
            raise self.refuse
        self.said.append((str(channel), text))
        return PostedMessage(ref=f"n{len(self.said)}")


def _app(rig: Rig, board: NoticeBoard) -> App:
    return App(rig.settings, rig.store, {"console": board}, rig.clock)  # type: ignore[dict-item]


async def _pause(rig: Rig, fid: int) -> None:
    for attempt in range(10):
        if attempt:
            rig.clock.current = rig.state(fid).next_check_at or rig.clock.now()
        await rig.poll(due_only=True)
    assert rig.state(fid).pause_notified


async def test_a_pause_notice_survives_a_refused_post_and_a_restart(rig: Rig) -> None:
    fid = rig.feed("a", status(500), NEWS, OTHER)
    await _pause(rig, fid)
    board = NoticeBoard()
    board.refuse = PostError("ratelimited: slow down")
    app = _app(rig, board)
    assert await app.send_notices() == 0
    assert [s for s, _, _ in rig.store.notices_for(NEWS)] == ["pending"]
    assert rig.store.notices_for(NEWS)[0][2] == "ratelimited: slow down"
    await app.fetcher.close()
    # a restart: the queued notices are in the database, not in the old process
    rig.store.close()
    rig.store = Store.open(rig.db_url)
    board = NoticeBoard()
    app = _app(rig, board)
    assert await app.send_notices() == 0  # not before its retry time
    rig.clock.advance(minutes=1)
    assert await app.send_notices() == 2
    assert sorted(c for c, _ in board.said) == sorted([str(NEWS), str(OTHER)])
    assert all("is paused" in text for _, text in board.said)
    rig.clock.advance(hours=2)
    assert await app.send_notices() == 0 and len(board.said) == 2  # each said once
    assert [s for s, _, _ in rig.store.notices_for(NEWS)] == ["sent"]
    await app.fetcher.close()


async def test_notices_refused_for_good_are_dropped_and_other_platforms_are_left_alone(rig: Rig) -> None:
    slack = ChannelRef("slack", "C0NEWS")
    fid = rig.feed("a", status(500), NEWS, slack)
    await _pause(rig, fid)
    board = NoticeBoard()
    board.refuse = PostError("channel_not_found", retryable=False)
    app = _app(rig, board)
    assert await app.send_notices() == 0
    [(state, text, error)] = rig.store.notices_for(NEWS)
    assert (state, error) == ("dropped", "channel_not_found") and "is paused: it failed 10 times" in text
    # this process has no Slack adapter: Slack's notice is left for the bot that has one, untouched
    for _ in range(12):
        rig.clock.advance(hours=2)
        await app.send_notices()
    assert rig.store.notices_for(slack) == [("pending", text, None)]
    assert board.said == []
    # housekeeping forgets notices done, and ones nobody could post, after the retention period
    assert rig.store.prune_notices(rig.clock.now() + timedelta(seconds=1)) == 2
    assert rig.store.notices_for(NEWS) == [] and rig.store.notices_for(slack) == []
    await app.fetcher.close()


async def test_a_notice_is_claimed_once_and_only_its_holder_settles_it(rig: Rig) -> None:
    fid = rig.feed("a", status(500), NEWS)
    await _pause(rig, fid)
    now = rig.clock.now()
    lease = now + timedelta(minutes=5)
    [held] = rig.store.claim_notices(now, lease, ["console"])
    assert rig.store.claim_notices(now, lease, ["console"]) == []  # another process finds nothing to take
    later = lease + timedelta(seconds=1)
    [taken_over] = rig.store.claim_notices(later, later + timedelta(minutes=5), ["console"])  # lease ran out
    assert taken_over.id == held.id and taken_over.attempts == 2
    assert not rig.store.notice_done(held.id, lease, later, sent=True)  # the first holder lost it
    assert rig.store.notice_done(held.id, later + timedelta(minutes=5), later, sent=True)
    assert [s for s, _, _ in rig.store.notices_for(NEWS)] == ["sent"]


async def test_a_batch_that_fails_to_store_leaves_no_phantom_story_behind(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    def one(guid: str, title: str, text: str) -> bytes:
        return (
            "<?xml version='1.0'?><rss version='2.0'><channel><title>W</title><link>https://w.example/</link>"
            f"<item><guid>{guid}</guid><title>{title}</title><link>https://w.example/{guid}</link>"
            f"<description>{text}</description></item></channel></rss>"
        ).encode()

    bridge = "The Harbor bridge reopened on Monday after six weeks of repairs, the city said."
    rig.feed("a", plain(one("a1", "Harbor bridge reopens", bridge)))
    rig.feed("b", plain(one("b1", "Ferry fares rise", "Ferry fares rise by ten percent in January, Bluewater said.")))
    rig.feed("c", plain(one("c1", "Bridge open again", bridge)))
    real = articles_module.index_articles

    def failing(conn: Any, rows: Any) -> None:
        if any(title == "Harbor bridge reopens" for _, title, _, _ in rows):
            raise RuntimeError("database is locked")
        real(conn, rows)

    monkeypatch.setattr(articles_module, "index_articles", failing)
    report = await rig.poll()
    # a's story was rolled back; b's new story may take its id, and c's copy of a's text must not join it
    assert (report.failed, report.new_articles) == (1, 2)
    with rig.store.engine.connect() as conn:
        stories = dict(conn.execute(sa.text("SELECT guid, story_id FROM articles")).all())
    assert stories["c1"] != stories["b1"]
    monkeypatch.setattr(articles_module, "index_articles", real)
    rig.clock.advance(hours=1)
    again = await rig.poll()
    assert again.failed == 0 and again.new_articles == 1
    with rig.store.engine.connect() as conn:
        stories = dict(conn.execute(sa.text("SELECT guid, story_id FROM articles")).all())
    assert stories["a1"] == stories["c1"] != stories["b1"]  # a's article, stored now, joins its copy


async def test_a_pass_of_304s_writes_only_the_columns_that_move(rig: Rig) -> None:
    fid = rig.feed("a", with_etag(rss(2), '"v1"'))
    await rig.poll()
    before = rig.state(fid)
    written: list[dict[str, Any]] = []
    real = rig.store.save_poll_results

    def spy(results: Any, *args: Any) -> None:
        written.extend(values for _, values in results)
        real(results, *args)

    rig.store.save_poll_results = spy  # type: ignore[method-assign]
    for _ in range(2):
        rig.clock.advance(hours=1)
        assert (await rig.poll()).not_modified == 1
    assert set(written[0]) == {"last_checked_at", "next_check_at", "last_status"}  # 200 -> 304
    assert set(written[1]) == {"last_checked_at", "next_check_at"}
    after = rig.state(fid)
    assert (after.feed.etag, after.feed.body_hash, after.feed.last_status) == (
        before.feed.etag,
        before.feed.body_hash,
        304,
    )
    assert after.feed.last_checked_at == rig.clock.now()


async def test_a_post_that_outlives_its_lease_leaves_the_notice_to_the_new_holder(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    fid = rig.feed("a", status(500), NEWS)
    await _pause(rig, fid)

    class Slow(NoticeBoard):
        async def post_notice(self, channel: ChannelRef, text: str) -> PostedMessage:
            rig.clock.advance(minutes=6)  # longer than the lease: another process takes the notice over
            now = rig.clock.now()
            assert rig.store.claim_notices(now, now + timedelta(minutes=5), ["console"])
            return await super().post_notice(channel, text)

    board = Slow()
    app = _app(rig, board)
    assert await app.send_notices() == 1
    assert "outlasted its lease" in caplog.text
    assert [s for s, _, _ in rig.store.notices_for(NEWS)] == ["pending"]  # the new holder settles it
    await app.fetcher.close()


async def test_a_notice_refused_for_a_day_is_dropped_with_the_last_reason(rig: Rig) -> None:
    fid = rig.feed("a", status(500), NEWS)
    await _pause(rig, fid)
    board = NoticeBoard()
    board.refuse = PostError("ratelimited")
    app = _app(rig, board)
    tries = 0
    while [s for s, _, _ in rig.store.notices_for(NEWS)] == ["pending"]:
        await app.send_notices()
        tries += 1
        rig.clock.advance(hours=1)
        assert tries < 40, "never given up"
    [(state, _, error)] = rig.store.notices_for(NEWS)
    assert state == "dropped" and error == "ratelimited"
    assert 20 <= tries <= 26  # tried about hourly until a day had passed, never posted
    assert board.said == []
    await app.fetcher.close()


async def test_removing_a_feed_makes_the_poller_rebuild_its_story_index(rig: Rig) -> None:
    """The cached index holds the removed feed's article ids, which SQLite may hand to new articles
    and which a settle would then move: the next pass starts from the database instead."""
    rig.feed("a", with_etag(rss(2), '"a1"'))
    gone = rig.feed("b", with_etag(rss(3), '"b1"'))
    await rig.poll()
    first = rig.stories.index
    rig.clock.advance(minutes=5)
    await rig.poll()
    assert first is not None and rig.stories.index is first  # kept between passes
    rig.store.remove_feed(gone)
    rig.clock.advance(minutes=5)
    rig.site.handlers["a"] = with_etag(rss(3), '"a2"')
    await rig.poll()
    rebuilt = rig.stories.index
    assert rebuilt is not None and rebuilt is not first and len(rebuilt) == 3  # feed a's three articles, none of b's


async def test_a_feed_removed_by_another_process_makes_the_poller_rebuild_too(rig: Rig) -> None:
    """`newsbot feeds remove` from the command line while `newsbot run` polls: the removal is counted
    in the database, so the running poller's index is built again without being told."""
    rig.feed("a", with_etag(rss(2), '"a1"'))
    gone = rig.feed("b", with_etag(rss(3), '"b1"'))
    await rig.poll()
    first = rig.stories.index
    other = Store.open(rig.db_url)  # another process's connection to the same database
    other.remove_feed(gone)
    other.close()
    rig.clock.advance(minutes=5)
    rig.site.handlers["a"] = with_etag(rss(3), '"a2"')
    await rig.poll()
    rebuilt = rig.stories.index
    assert rebuilt is not None and rebuilt is not first and len(rebuilt) == 3
    # and nothing removed since: the next pass keeps it
    rig.clock.advance(minutes=5)
    await rig.poll()
    assert rig.stories.index is rebuilt
