"""Exactly-once delivery under trouble: removed feeds, refused stories, lost leases, retries, no flood."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import settings_from_dict
from bot.delivery import run_digest
from bot.errors import PostError
from bot.models import ChannelRef, CommandRequest, Digest, DigestStory, PostedMessage
from bot.scheduler import finish_pending
from tests.conftest import EXAMPLE_FEEDS, FixedClock, demo_config
from tests.fakes import FlakyAdapter

NOW = datetime(2026, 11, 26, 8, tzinfo=UTC)


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Any:
    return settings_from_dict(demo_config(sqlite_url, digest={"first_items": 10}), tmp_path / "config.toml")


async def test_resume_keeps_planned_positions_when_a_story_is_gone(settings: Any) -> None:
    clock = FixedClock(NOW)
    app = App.open(settings, clock=clock, adapters={"console": FlakyAdapter(fail_on=3)})  # parent, 1, then fails
    await app.poll()
    [sub] = app.store.subscriptions()
    await run_digest(app.storage, app.adapters, sub, settings.digest, clock, NOW)
    row = app.store.digest(1)
    assert row is not None and sorted(row.posted) == [0, 1]
    # the feed behind story 2 goes away before the retry
    second = app.store.story_articles([row.story_ids[1]])[row.story_ids[1]]
    app.store.remove_feed(second[0].feed_id)
    app.adapters["console"] = after = FlakyAdapter()
    clock.advance(minutes=3)
    await run_digest(app.storage, app.adapters, sub, settings.digest, clock, NOW)
    done = app.store.digest(1)
    assert done is not None and done.status == "posted"
    assert done.posted[2].ref.startswith("skipped")
    titles = [
        app.store.story_articles([sid])[sid][0].title
        for sid in done.story_ids[2:]
        if app.store.story_articles([sid])[sid]
    ]
    assert after.sent == titles  # stories 3.. all posted, none lost to a shifted position
    await app.close()


class RefusesOne(FlakyAdapter):
    """Refuses one story for good (say, blocks Slack will not take)."""

    async def post_story(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage, story: DigestStory, position: int
    ) -> PostedMessage:
        if position == 2:
            raise PostError("invalid_blocks", retryable=False)
        return await super().post_story(channel, digest, parent, story, position)


async def test_a_story_refused_for_good_is_skipped_and_the_rest_posted(settings: Any) -> None:
    clock = FixedClock(NOW)
    adapter = RefusesOne()
    app = App.open(settings, clock=clock, adapters={"console": adapter})
    await app.poll()
    [sub] = app.store.subscriptions()
    outcomes = await run_digest(app.storage, app.adapters, sub, settings.digest, clock, NOW)
    assert [(o.status, o.stories) for o in outcomes] == [("posted", 8)]
    row = app.store.digest(1)
    assert row is not None and row.status == "posted" and row.posted[2].ref == "skipped: invalid_blocks"
    await app.close()


async def test_a_refused_parent_waits_then_the_minute_job_finishes_it(settings: Any) -> None:
    clock = FixedClock(NOW)
    app = App.open(settings, clock=clock, adapters={"console": FlakyAdapter(fail_on=1)})
    await app.poll()
    [sub] = app.store.subscriptions()
    [outcome] = await run_digest(app.storage, app.adapters, sub, settings.digest, clock, NOW)
    assert outcome.status == "failed" and "channel_not_found" in outcome.message
    app.adapters["console"] = healthy = FlakyAdapter()
    assert await finish_pending(app) == 0  # not before its retry time
    clock.advance(minutes=3)
    assert await finish_pending(app) == 1
    assert healthy.sent[0] == "parent:9" and len(healthy.sent) == 10
    assert await finish_pending(app) == 0
    await app.close()


async def test_a_lost_lease_stops_posting(settings: Any) -> None:
    clock = FixedClock(NOW)

    class Slow(FlakyAdapter):
        async def post_story(
            self, channel: ChannelRef, digest: Digest, parent: PostedMessage, story: DigestStory, position: int
        ) -> PostedMessage:
            if position == 2:  # meanwhile the lease ran out and another worker took the digest
                clock.advance(minutes=10)
                assert app.store.claim_digest(1, "other", clock.now(), clock.now() + timedelta(minutes=5))
            return await super().post_story(channel, digest, parent, story, position)

    adapter = Slow()
    app = App.open(settings, clock=clock, adapters={"console": adapter})
    await app.poll()
    [sub] = app.store.subscriptions()
    [outcome] = await run_digest(app.storage, app.adapters, sub, settings.digest, clock, NOW)
    assert outcome.status == "busy"
    assert len(adapter.sent) == 3  # parent, 1 and 2; nothing after the lease was lost
    await app.close()


async def test_no_flood_waits_for_a_feed_whose_first_fetch_failed(tmp_path: Path, sqlite_url: str) -> None:
    feed = tmp_path / "feed.xml"
    raw = demo_config(sqlite_url, digest={"first_items": 1})
    raw["feeds"] = [{"url": str(feed), "name": "Later"}]
    settings = settings_from_dict(raw, tmp_path / "config.toml")
    clock = FixedClock(NOW)
    adapter = FlakyAdapter()
    app = App.open(settings, clock=clock, adapters={"console": adapter})
    report = await app.poll()  # the file is not there yet: the first fetch fails
    assert report.failed == 1
    [sub] = app.store.subscriptions()
    await run_digest(app.storage, app.adapters, sub, settings.digest, clock, NOW)
    assert app.store.unsettled_feeds(sub.id)  # not settled on a failure
    feed.write_bytes((EXAMPLE_FEEDS / "pacific-wire.xml").read_bytes())
    clock.advance(hours=2)
    await app.poll()
    clock.advance(minutes=1)
    outcomes = await run_digest(app.storage, app.adapters, sub, settings.digest, clock, clock.now())
    assert [(o.status, o.stories) for o in outcomes] == [("posted", 1)]  # the newest item only
    await app.close()


async def test_chat_unsubscribe_from_a_config_feed_survives_a_restart(settings: Any) -> None:
    clock = FixedClock(NOW)
    app = App.open(settings, clock=clock, adapters={"console": FlakyAdapter()})
    reply = await app.handle_command(CommandRequest(ChannelRef("console", "#news"), "me", "unsubscribe 1", True))
    assert reply.ok, reply.text
    [sub] = app.store.subscriptions()
    assert len(app.store.subscribed_feed_ids(sub.id)) == 2
    await app.close()
    again = App.open(settings, clock=clock, adapters={"console": FlakyAdapter()})
    assert len(again.store.subscribed_feed_ids(sub.id)) == 2
    await again.close()


async def test_console_strips_terminal_escapes_from_feed_text(settings: Any) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(out, "never")
    story = DigestStory(
        story_id=1,
        title="Evil\x1b]0;owned\x07 title",
        url=None,
        source="Wire\x1b[2J",
        summary="Text\x9b31m here",
        highlights=(),
        key_entities=(),
    )
    digest = Digest(1, ChannelRef("console", "#n"), "News\x1b[5m", NOW, (story,))
    parent = await console.post_parent(digest.channel, digest)
    await console.post_story(digest.channel, digest, parent, story, 1)
    assert not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in out.getvalue())


async def test_the_manager_is_told_once_per_problem_until_a_digest_posts_and_a_restart_forgets_nothing(
    db_url: str, tmp_path: Path
) -> None:
    # three stories a digest: what is left leads the next one, which fails again after one has posted
    config = demo_config(db_url, digest={"first_items": 10, "max_stories": 3})
    settings = settings_from_dict(config, tmp_path / "config.toml")
    clock = FixedClock(NOW)
    forbidden = PostError("console: newsbot may not post here (give it Send Messages)", reason="forbidden")
    flaky = FlakyAdapter(fail_on=1, error=forbidden)
    app = App.open(settings, clock=clock, adapters={"console": flaky})
    await app.poll()
    [sub] = app.store.subscriptions()
    app.store.set_manager(sub.channel, "U0BOSS")

    [outcome] = await app.delivery.digest_for(sub, "manual")
    assert outcome.status == "failed"
    [(user, text)] = flaky.direct  # sent in the same run, not at the next poll
    assert user == "U0BOSS" and f"in {sub.channel}: newsbot may not post here" in text
    assert "Nothing is lost" in text and "console: newsbot" not in text
    await app.close()

    # a new process: the same problem again is not told again; another problem is
    again = FlakyAdapter(fail_on=1, error=forbidden)
    app = App.open(settings, clock=clock, adapters={"console": again})
    clock.advance(minutes=3)
    outcomes = await app.delivery.digest_for(sub, "manual")
    assert outcomes[0].status == "failed" and again.direct == []
    clock.advance(minutes=3)
    gone = FlakyAdapter(fail_on=1, error=PostError("console: the channel is gone", reason="gone"))
    app.adapters["console"] = gone
    await app.delivery.digest_for(sub, "manual")
    assert [u for u, _ in gone.direct] == ["U0BOSS"]

    # a refusal nobody in the channel can fix (a rate limit, no reason) tells nobody
    clock.advance(minutes=3)
    busy = FlakyAdapter(fail_on=1, error=PostError("console: slow down", reason="rate_limited"))
    app.adapters["console"] = busy
    await app.delivery.digest_for(sub, "manual")
    assert busy.direct == []

    # a digest posts: the problem is over, and when the next one (planned while the channel was
    # failing) is refused again, that is told again
    clock.advance(minutes=3)
    later = FlakyAdapter(fail_on=5, error=forbidden)  # the parent and 3 stories of digest 1, then refused
    app.adapters["console"] = later
    outcomes = await app.delivery.digest_for(sub, "manual")
    assert [o.status for o in outcomes][:2] == ["resumed", "failed"]
    assert [u for u, _ in later.direct] == ["U0BOSS"]
    # the DMs went through the outbox, addressed to the manager; pruning keeps the one still standing
    assert app.store.prune_notices(NOW + timedelta(days=30)) == 2
    assert [s for s, _, _ in app.store.notices_for(sub.channel)] == ["sent"]
    await app.close()


async def test_nobody_is_told_when_nobody_manages_the_channel(settings: Any) -> None:
    clock = FixedClock(NOW)
    flaky = FlakyAdapter(fail_on=1, error=PostError("console: may not post", reason="forbidden"))
    app = App.open(settings, clock=clock, adapters={"console": flaky})
    await app.poll()
    [sub] = app.store.subscriptions()
    [outcome] = await app.delivery.digest_for(sub, "manual")
    assert outcome.status == "failed" and flaky.direct == [] and app.store.notices_for(sub.channel) == []
    await app.close()
