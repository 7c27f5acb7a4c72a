"""One set of behaviour checks for every store the core may be handed: the in-memory fake
(tests/memory_store.py) and bot.store.Store on SQLite and PostgreSQL, so the fake cannot drift
from what the real store does: subscriptions and feeds, digest claims and their leases and
take-over, posting in doubt and recording, pending digests, follow-ups, the notice outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.models import ChannelRef
from bot.store.schema import article_feeds, articles, stories
from bot.store.store import Store
from tests.conftest import migrated_database
from tests.memory_store import MemoryStore

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
NEWS = ChannelRef("console", "#news")
SPORT = ChannelRef("slack", "C0SPORT")


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with migrated_database(request, request.param, tmp_path) as url:
        real = Store.open(url)
        try:
            yield real
        finally:
            real.close()


def seed_story(store: Any, feed_id: int, title: str, now: datetime, *, story_id: int | None = None) -> int:
    """One article of `feed_id` in a story (a new one, or `story_id`, which it brings up to date), as a
    poll would leave it. The store's own path there is the ingest pipeline, tested in test_store."""
    if isinstance(store, MemoryStore):
        return store.add_story(feed_id, title, now, story_id=story_id)[0]
    with store.engine.begin() as conn:
        if story_id is None:
            story_id = int(
                conn.execute(
                    stories.insert().values(title=title, first_seen_at=now, updated_at=now, sources=1)
                ).inserted_primary_key[0]
            )
        else:
            conn.execute(stories.update().where(stories.c.id == story_id).values(updated_at=now))
        guid = f"{title}-{now.isoformat()}"
        aid = conn.execute(
            articles.insert().values(
                feed_id=feed_id,
                guid=guid,
                title=title,
                text=title,
                first_seen_at=now,
                content_hash=guid,
                summary=[],
                entities=[],
                shingles=[],
                story_id=story_id,
            )
        ).inserted_primary_key[0]
        conn.execute(article_feeds.insert().values(feed_id=feed_id, guid=guid, article_id=aid, first_seen_at=now))
    return story_id


def channel_with_feed(store: Any, channel: ChannelRef = NEWS) -> tuple[int, int]:
    sub = store.upsert_subscription(channel, NOW, schedule=["08:00"], timezone="Europe/Brussels")
    feed = store.add_feed("https://wire.example/feed.xml", NOW, name="Wire")
    store.subscribe(sub, [feed], NOW, settle_backlog=False)
    return sub, feed


def pending_digest(store: Any, titles: tuple[str, ...] = ("Ferry fares rise", "Bridge reopens")) -> tuple[int, int]:
    sub, feed = channel_with_feed(store)
    ids = [seed_story(store, feed, t, NOW) for t in titles]
    digest = store.create_digest(sub, NOW, "News", ids, NOW)
    assert digest is not None
    return sub, digest


# --- subscriptions and feeds ---------------------------------------------------------------------


def test_a_subscription_is_made_once_and_changed_in_place(store: Any) -> None:
    assert store.subscription(NEWS) is None and store.channel_manager(NEWS) is None
    store.set_manager(NEWS, "U1")  # no subscription yet: nothing to record it on
    assert store.channel_manager(NEWS) is None
    sub = store.ensure_subscription(NEWS, NOW)
    assert store.ensure_subscription(NEWS, NOW) == sub
    row = store.subscription(NEWS)
    assert (row.id, row.channel, row.schedule, row.timezone, row.weekdays, row.follows) == (
        sub,
        NEWS,
        (),
        "UTC",
        (),
        (),
    )
    assert row.max_stories is None and row.from_config is False and row.updates is None
    assert store.upsert_subscription(NEWS, NOW, schedule=["08:00", "18:00"], follows=["NATO"], max_stories=5) == sub
    row = store.subscription_by_id(sub)
    assert (row.schedule, row.follows, row.max_stories, row.timezone) == (("08:00", "18:00"), ("NATO",), 5, "UTC")
    other = store.upsert_subscription(SPORT, NOW, updates=False)
    assert [s.id for s in store.subscriptions()] == [sub, other] and store.subscription(SPORT).updates is False
    store.set_manager(NEWS, "U1")
    assert store.channel_manager(NEWS) == "U1" and store.channel_manager(SPORT) is None
    with pytest.raises(TypeError, match="not subscription settings"):
        store.upsert_subscription(NEWS, NOW, platform="discord")


def test_feeds_are_known_by_address_and_linked_once(store: Any) -> None:
    a = store.add_feed("https://wire.example/feed.xml", NOW)
    assert store.add_feed("https://WIRE.example/feed.xml?utm_source=x", NOW) == a  # the same feed_key
    assert store.add_feed("https://wire.example/feed.xml", NOW, name="Wire", from_config=True) == a
    b = store.add_feed("https://ledger.example/rss", NOW)
    assert [(f.id, f.name, f.from_config) for f in store.feeds()] == [(a, "Wire", True), (b, None, False)]
    assert [f.id for f in store.feeds([b])] == [b]
    sub = store.ensure_subscription(NEWS, NOW)
    assert store.subscribe(sub, [b, a, b], NOW) == [b, a]
    assert store.subscribe(sub, [a], NOW) == []
    assert store.subscribed_feed_ids(sub) == [a, b] and [f.id for f in store.subscribed_feeds(sub)] == [a, b]
    assert sorted(store.unsettled_feeds(sub)) == [a, b]
    assert store.subscribers(a) == [NEWS]
    # (was it linked, is it now unused and not from the config)
    assert store.unsubscribe(sub, a) == (True, False)
    assert store.unsubscribe(sub, b) == (True, True)
    assert store.unsubscribe(sub, b) == (False, False)
    store.remove_feed(b)
    assert [f.id for f in store.feeds()] == [a] and store.subscribed_feed_ids(sub) == []
    assert store.feed_removals() == 1  # a story index built before is stale, in every process


def test_a_settled_backlog_is_recorded_as_seen_once(store: Any) -> None:
    sub = store.ensure_subscription(NEWS, NOW)
    feed = store.add_feed("https://wire.example/feed.xml", NOW)
    store.subscribe(sub, [feed], NOW)
    old, new = (seed_story(store, feed, t, NOW) for t in ("Old news", "New news"))
    assert {s for s, _, _ in store.undigested_stories(sub)} == {old, new}
    store.settle_backlog(sub, [feed], [old], LATER, NOW)
    store.settle_backlog(sub, [feed], [old], LATER, NOW)  # a second worker on the same slot changes nothing
    assert store.unsettled_feeds(sub) == []
    assert [s for s, _, _ in store.undigested_stories(sub)] == [new]
    assert store.pending_digests(sub) == [] and store.last_digest_at(sub) is None


# --- digests: pending, claims and leases -----------------------------------------------------


def test_a_digest_with_stories_is_pending_without_is_empty_and_a_slot_is_taken_once(store: Any) -> None:
    sub, feed = channel_with_feed(store)
    a, b = (seed_story(store, feed, t, NOW) for t in ("Ferry fares rise", "Bridge reopens"))
    assert [(s, n) for s, n, _ in store.undigested_stories(sub)] == [(a, 1), (b, 1)]
    assert store.undigested_stories(sub, since=LATER) == []
    first = store.create_digest(sub, NOW, "News", [a], NOW)
    assert store.create_digest(sub, NOW, "Again", [b], NOW) is None
    assert store.has_digest(sub, NOW) and not store.has_digest(sub, LATER)
    # a story the channel already has is left out of a later digest
    second = store.create_digest(sub, LATER, "Later", [a, b], LATER, kind="manual")
    empty = store.create_digest(sub, NOW + timedelta(hours=1), "Quiet", [a], NOW)
    rows = {d: store.digest(d) for d in (first, second, empty)}
    assert [(r.status, r.story_ids, r.kind, r.title) for r in rows.values()] == [
        ("pending", (a,), "scheduled", "News"),
        ("pending", (b,), "manual", "Later"),
        ("empty", (), "scheduled", "Quiet"),
    ]
    assert rows[first].scheduled_for == NOW and rows[first].created_at == NOW and rows[first].posted == {}
    assert [d.id for d in store.pending_digests(sub)] == [first, second]
    assert store.undigested_stories(sub) == [] and store.digest(999) is None
    assert store.claimable_subscriptions(NOW) == [sub]


def test_a_claim_is_one_workers_until_its_lease_runs_out(store: Any) -> None:
    sub, digest = pending_digest(store)
    assert store.claim_digest(digest, "w1", NOW, LATER)
    assert not store.claim_digest(digest, "w2", NOW, LATER)
    assert store.claimable_subscriptions(NOW) == []
    assert store.claimable_subscriptions(NOW, dead=lambda owner: owner == "w1") == [sub]
    row = store.digest(digest)
    assert (row.claimed_by, row.claimed_until) == ("w1", LATER)
    assert store.renew_claim(digest, "w1", LATER + timedelta(minutes=5))
    assert not store.renew_claim(digest, "w2", LATER)
    # once the lease has run out anyone may take it, and the old holder has lost it
    assert store.claim_digest(digest, "w2", LATER + timedelta(minutes=5), LATER + timedelta(minutes=10))
    assert not store.renew_claim(digest, "w1", LATER)
    assert not store.begin_post(digest, "w1", 0, LATER)
    assert store.digest(digest).claimed_by == "w2"


def test_taking_over_from_a_dead_holder_is_compare_and_swap(store: Any) -> None:
    _, digest = pending_digest(store)
    assert store.claim_digest(digest, "dead", NOW, LATER)
    assert not store.claim_digest(digest, "w1", NOW, LATER, take_from="someone-else")
    assert store.claim_digest(digest, "w1", NOW, LATER, take_from="dead")
    # the second run taking over from the same dead holder finds it gone
    assert not store.claim_digest(digest, "w2", NOW, LATER, take_from="dead")
    assert store.digest(digest).claimed_by == "w1"


def test_a_release_with_a_retry_time_holds_the_digest_back_until_then(store: Any) -> None:
    sub, digest = pending_digest(store)
    assert store.claim_digest(digest, "w1", NOW, LATER)
    store.release_digest(digest, "w2", retry_at=NOW, error="not mine")  # only the holder releases
    assert store.digest(digest).claimed_by == "w1" and store.digest(digest).last_error is None
    store.release_digest(digest, "w1", retry_at=LATER, error="ratelimited")
    row = store.digest(digest)
    assert (row.claimed_by, row.claimed_until, row.last_error, row.status) == (None, LATER, "ratelimited", "pending")
    assert not store.claim_digest(digest, "w2", NOW, LATER)
    assert store.claimable_subscriptions(NOW) == [] and store.claimable_subscriptions(LATER) == [sub]
    assert store.claim_digest(digest, "w2", LATER, LATER + timedelta(minutes=5))
    store.release_digest(digest, "w2")
    assert store.digest(digest).claimed_until is None and store.digest(digest).last_error == "ratelimited"


# --- posting: in doubt, recorded, finished -------------------------------------------------------


def test_a_position_is_in_doubt_until_recorded_and_recorded_once(store: Any) -> None:
    sub, digest = pending_digest(store)
    assert store.claim_digest(digest, "w1", NOW, LATER)
    assert store.begin_post(digest, "w1", 0, LATER + timedelta(minutes=1))
    row = store.digest(digest)
    assert (row.in_doubt, row.claimed_until) == (0, LATER + timedelta(minutes=1))
    assert store.record_posted(digest, 0, "p-1", "t-1", NOW)
    assert store.digest(digest).in_doubt is None
    assert not store.record_posted(digest, 0, "p-2", None, NOW)  # another run won that position
    assert list(store.digest(digest).posted) == [0]
    assert (store.digest(digest).posted[0].ref, store.digest(digest).posted[0].thread_ref) == ("p-1", "t-1")
    assert store.message_recorded("p-1") and not store.message_recorded("p-2")
    # a refusal: the platform said for certain it did not post position 1; another position stays
    assert store.begin_post(digest, "w1", 1, LATER)
    store.clear_doubt(digest, 2)
    assert store.digest(digest).in_doubt == 1
    store.clear_doubt(digest, 1)
    assert store.digest(digest).in_doubt is None
    assert store.begin_post(digest, "w1", 2, LATER)  # the crash case: left in doubt for the next run
    assert store.record_posted(digest, 1, "s-1", None, NOW)
    assert store.digest(digest).in_doubt == 2
    store.finish_digest(digest, "w2", LATER)  # not the holder: nothing happens
    assert store.digest(digest).status == "pending"
    store.finish_digest(digest, "w1", LATER)
    row = store.digest(digest)
    assert (row.status, row.claimed_by, row.claimed_until, row.in_doubt) == ("posted", None, None, None)
    assert sorted(row.posted) == [0, 1]
    assert store.pending_digests(sub) == [] and store.claimable_subscriptions(LATER) == []
    assert not store.claim_digest(digest, "w3", LATER, LATER)  # a posted digest is nobody's to claim
    assert store.last_digest_at(sub) == NOW and store.last_digest_at(sub, before=NOW) is None


def test_a_told_story_that_grows_comes_back_as_a_follow_up(store: Any) -> None:
    sub, feed = channel_with_feed(store)
    story = seed_story(store, feed, "Ferry fares rise", NOW)
    digest = store.create_digest(sub, NOW, "News", [story], NOW)
    assert store.claim_digest(digest, "w1", NOW, LATER)
    assert store.record_posted(digest, 0, "p", None, NOW) and store.record_posted(digest, 1, "s", "p", NOW)
    store.finish_digest(digest, "w1", NOW)
    assert store.told_stories(sub, NOW - timedelta(days=1)) == []  # nothing new since it was told
    seed_story(store, feed, "Ferry fares rise again", LATER, story_id=story)
    [told] = store.told_stories(sub, NOW - timedelta(days=1))
    assert (told.story_id, told.ref, told.thread_ref, told.told_at, told.earlier) == (story, "s", "p", NOW, ())
    assert store.told_stories(sub, LATER) == []  # told before `since`
    detail = {"sentences": ["Fares rise again."], "told_at": NOW.isoformat()}
    update = store.create_digest(sub, LATER, "News", [], LATER, updates=[(story, detail)])
    row = store.digest(update)
    assert row.status == "pending" and row.story_ids == ()
    assert [(u.position, u.story_id, u.detail) for u in row.updates] == [(1, story, detail)]
    assert store.told_stories(sub, NOW - timedelta(days=1)) == []  # its follow-up is still pending
    # planned again at the same moment (a manual digest beside it): the follow-up is not repeated
    again = store.create_digest(sub, LATER + timedelta(seconds=1), "Now", [], LATER, updates=[(story, detail)])
    assert store.digest(again).status == "empty" and store.digest(again).updates == ()


# --- the notice outbox ---------------------------------------------------------------------------


def test_a_notice_is_claimed_under_a_lease_and_settled_only_by_its_holder(store: Any) -> None:
    store.save_poll_results([], [(NEWS, "Wire is paused"), (SPORT, "Ledger is paused"), (NEWS, "second")], NOW)
    assert store.claim_notices(NOW, LATER, []) == []
    [first] = store.claim_notices(NOW, LATER, ["console"])
    assert (first.channel, first.text, first.created_at, first.attempts) == (NEWS, "Wire is paused", NOW, 1)
    [second] = store.claim_notices(NOW, LATER, ["console"], limit=5)  # the first is held
    assert second.text == "second"
    assert store.claim_notices(NOW, LATER, ["console"]) == []
    # the lease runs out: another process takes it over, and the first holder's word no longer counts
    retaken = LATER + timedelta(minutes=1)
    [again] = store.claim_notices(LATER, retaken, ["console"])
    assert (again.id, again.attempts) == (first.id, 2)
    assert not store.notice_done(first.id, LATER, LATER, sent=True)
    assert store.notice_done(second.id, LATER, LATER, sent=False, error="channel gone")
    assert not store.notice_done(second.id, LATER, LATER, sent=True)  # settled already
    assert store.notice_retry(first.id, retaken, LATER + timedelta(minutes=10), "ratelimited")
    assert store.claim_notices(LATER + timedelta(minutes=9), LATER + timedelta(minutes=12), ["console"]) == []
    [third] = store.claim_notices(LATER + timedelta(minutes=10), LATER + timedelta(minutes=15), ["console"])
    assert third.id == first.id and third.attempts == 3
    assert store.notice_done(third.id, LATER + timedelta(minutes=15), LATER + timedelta(minutes=11), sent=True)
    assert store.notices_for(NEWS) == [("sent", "Wire is paused", None), ("dropped", "second", "channel gone")]
    assert store.notices_for(SPORT) == [("pending", "Ledger is paused", None)]
    # forgotten: the ones done before the cut, and the pending one queued before it
    assert store.prune_notices(LATER) == 1  # "second" was dropped at LATER, not before
    assert store.prune_notices(LATER + timedelta(hours=1)) == 2
    assert store.notices_for(NEWS) == [] and store.notices_for(SPORT) == []
