"""Scheduling with an injected clock: DST, outages, digest now vs the schedule, crashes, overlapping triggers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.config import settings_from_dict
from bot.delivery import run_digest
from bot.scheduler import Scheduler, catch_up, digest_trigger, missed_slot, slot_for
from bot.store.rows import SubscriptionRow
from tests.conftest import FixedClock, demo_config
from tests.fakes import FlakyAdapter


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        # Brussels: CET (UTC+1) until 29 March 2026, then CEST (UTC+2); back on 25 October
        ("Europe/Brussels", utc(2026, 3, 27, 12), [utc(2026, 3, 28, 7), utc(2026, 3, 29, 6), utc(2026, 3, 30, 6)]),
        ("Europe/Brussels", utc(2026, 10, 23, 12), [utc(2026, 10, 24, 6), utc(2026, 10, 25, 7), utc(2026, 10, 26, 7)]),
        # New York: EST (UTC-5) until 8 March 2026, then EDT (UTC-4); back on 1 November
        ("America/New_York", utc(2026, 3, 6, 20), [utc(2026, 3, 7, 13), utc(2026, 3, 8, 12), utc(2026, 3, 9, 12)]),
        (
            "America/New_York",
            utc(2026, 10, 30, 20),
            [utc(2026, 10, 31, 12), utc(2026, 11, 1, 13), utc(2026, 11, 2, 13)],
        ),
    ],
)
def test_daily_digest_stays_at_local_0800_across_dst(zone: str, start: datetime, expected: list[datetime]) -> None:
    trigger = digest_trigger("08:00", zone, ())
    fires, previous, now = [], None, start
    for _ in range(3):
        fire = trigger.get_next_fire_time(previous, now)
        fires.append(fire.astimezone(UTC))
        previous, now = fire, fire + timedelta(seconds=1)
    assert fires == expected
    # the slot a fire time maps to is that same instant, whichever side of the change
    for fire in expected:
        assert slot_for("08:00", zone, fire + timedelta(minutes=5)) == fire


def test_weekdays_and_a_wall_time_that_does_not_exist() -> None:
    trigger = digest_trigger("09:00", "UTC", ("mon", "fri"))
    fire = trigger.get_next_fire_time(None, utc(2026, 11, 24, 12))  # a Tuesday
    assert fire == utc(2026, 11, 27, 9)  # Friday
    # 02:30 does not exist in Brussels on 29 March 2026; it maps forward to 03:30 CEST = 01:30 UTC
    assert slot_for("02:30", "Europe/Brussels", utc(2026, 3, 29, 5)) == utc(2026, 3, 29, 1, 30)


def sub(**kw: Any) -> SubscriptionRow:
    base: dict[str, Any] = {
        "id": 1,
        "channel": None,
        "schedule": ("08:00",),
        "timezone": "UTC",
        "weekdays": (),
        "max_stories": None,
        "from_config": True,
    }
    return SubscriptionRow(**(base | kw))


def test_missed_slot_rules() -> None:
    grace = timedelta(hours=6)
    assert missed_slot(sub(), utc(2026, 11, 1), utc(2026, 11, 27, 10), grace) == utc(2026, 11, 27, 8)
    assert missed_slot(sub(), utc(2026, 11, 1), utc(2026, 11, 27, 15), grace) is None  # past the grace
    assert missed_slot(sub(), utc(2026, 11, 27, 9), utc(2026, 11, 27, 10), grace) is None  # made after 08:00
    weekdays_only = sub(weekdays=("mon", "tue", "wed", "thu", "fri"))
    assert missed_slot(weekdays_only, utc(2026, 11, 1), utc(2026, 11, 28, 10), grace) is None  # Saturday


def scheduled_settings(url: str, tmp_path: Path) -> Any:
    raw = demo_config(url, digest={"max_stories": 5, "first_items": 10})
    raw["subscriptions"][0].update(schedule="08:00", timezone="UTC")
    return settings_from_dict(raw, tmp_path / "config.toml")


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Any:
    """On SQLite: what these tests check is the scheduler's, not the database's."""
    return scheduled_settings(sqlite_url, tmp_path)


@pytest.fixture
def settings_on_both(db_url: str, tmp_path: Path) -> Any:
    """On SQLite and PostgreSQL: two runs racing for one digest's claim."""
    return scheduled_settings(db_url, tmp_path)


async def test_an_outage_over_0800_posts_exactly_one_catch_up(settings: Any) -> None:
    clock = FixedClock(utc(2026, 11, 26, 7))
    adapter = FlakyAdapter()
    app = App.open(settings, clock=clock, adapters={"console": adapter})
    await app.poll()
    # down from 07:00 to 10:00: the 08:00 trigger never fired
    clock.current = utc(2026, 11, 26, 10)
    assert await catch_up(app) == 1
    assert adapter.sent[0] == "parent:5"
    assert await catch_up(app) == 0  # a restart right after does not post it again
    clock.current = utc(2026, 11, 26, 10, 30)
    assert await catch_up(app) == 0
    assert sum(1 for s in adapter.sent if s.startswith("parent")) == 1
    await app.close()


async def test_digest_now_then_the_scheduled_digest_do_not_repeat_stories(settings: Any) -> None:
    clock = FixedClock(utc(2026, 11, 26, 7))
    adapter = FlakyAdapter()
    app = App.open(settings, clock=clock, adapters={"console": adapter})
    await app.poll()
    [sub_row] = app.store.subscriptions()
    manual = await app.delivery.digest_for(sub_row, "manual")
    assert [(o.status, o.stories) for o in manual] == [("posted", 5)]
    first = set(adapter.sent[1:])
    clock.current = utc(2026, 11, 26, 8)
    scheduled = await run_digest(app.storage, app.adapters, sub_row, settings.digest, clock, utc(2026, 11, 26, 8))
    assert [(o.status, o.stories) for o in scheduled] == [("posted", 4)]  # the other four of the nine
    assert not first & set(adapter.sent[7:])
    assert len(set(adapter.sent[1:6]) | set(adapter.sent[7:])) == 9
    await app.close()


async def test_a_crash_after_the_third_of_five_posts_resumes_with_four_and_five(settings: Any) -> None:
    clock = FixedClock(utc(2026, 11, 26, 8))
    crashing = FlakyAdapter(fail_on=5, error=RuntimeError("killed"))  # parent, 1, 2, 3, then dies
    app = App.open(settings, clock=clock, adapters={"console": crashing})
    await app.poll()
    [sub_row] = app.store.subscriptions()
    with pytest.raises(RuntimeError):
        await run_digest(app.storage, app.adapters, sub_row, settings.digest, clock, utc(2026, 11, 26, 8))
    assert len(crashing.sent) == 4
    app.adapters["console"] = after = FlakyAdapter()
    clock.current = utc(2026, 11, 26, 8, 5)
    # the restarted job for the same slot: it resumes the pending digest and finds the slot taken
    outcomes = await run_digest(app.storage, app.adapters, sub_row, settings.digest, clock, utc(2026, 11, 26, 8))
    assert [(o.status, o.stories) for o in outcomes] == [("resumed", 2)]
    row = app.store.digest(1)
    assert row is not None and row.status == "posted"
    expected = [app.store.story_articles([sid])[sid][-1].title for sid in row.story_ids]
    assert crashing.sent[1:] == expected[:3] and after.sent == expected[3:]
    await app.close()


async def test_two_overlapping_triggers_never_post_the_same_digest_twice(settings_on_both: Any) -> None:
    clock = FixedClock(utc(2026, 11, 26, 8))
    adapter = FlakyAdapter(pause=0.001)
    app = App.open(settings_on_both, clock=clock, adapters={"console": adapter})
    await app.poll()
    [sub_row] = app.store.subscriptions()
    slot = utc(2026, 11, 26, 8)
    results = await asyncio.gather(
        run_digest(app.storage, app.adapters, sub_row, settings_on_both.digest, clock, slot),
        run_digest(app.storage, app.adapters, sub_row, settings_on_both.digest, clock, slot),
    )
    statuses = sorted(o.status for outcomes in results for o in outcomes)
    assert "posted" in statuses and statuses.count("posted") == 1, statuses
    assert sum(1 for s in adapter.sent if s.startswith("parent")) == 1
    assert len(adapter.sent) == len(set(adapter.sent)) == 6
    await app.close()


async def test_scheduler_jobs_are_rebuilt_from_the_database_with_stable_ids(settings: Any) -> None:
    clock = FixedClock(utc(2026, 11, 26, 7))
    app = App.open(settings, clock=clock, adapters={"console": FlakyAdapter()})
    scheduler = Scheduler(app)
    await scheduler.refresh()
    assert scheduler.job_ids() == ["digest:1:08:00"]
    job = scheduler.aps.get_job("digest:1:08:00")
    assert job.coalesce is True and job.misfire_grace_time == 6 * 3600 and job.max_instances == 1
    from bot.models import ChannelRef, CommandRequest

    reply = await app.handle_command(
        CommandRequest(ChannelRef("console", "#news"), "me", "schedule 07:15 19:00 Europe/Paris", can_manage=True)
    )
    assert reply.ok, reply.text
    assert scheduler.job_ids() == ["digest:1:07:15", "digest:1:19:00"]
    assert str(scheduler.aps.get_job("digest:1:07:15").trigger.timezone) == "Europe/Paris"
    await app.handle_command(CommandRequest(ChannelRef("console", "#news"), "me", "schedule off", can_manage=True))
    assert scheduler.job_ids() == []
    await app.close()


async def test_the_minute_job_posts_queued_notices_and_housekeeping_prunes(settings: Any) -> None:
    from bot.models import ChannelRef

    clock = FixedClock(utc(2026, 11, 26, 7))
    adapter = FlakyAdapter()
    app = App.open(settings, clock=clock, adapters={"console": adapter})
    scheduler = Scheduler(app)
    channel = ChannelRef("console", "#news")
    app.store.save_poll_results([], [(channel, "The feed X is paused.")], clock.now())  # as a failing poll queues it
    await scheduler.poll_once()
    assert adapter.notices == ["The feed X is paused."]
    assert [s for s, _, _ in app.store.notices_for(channel)] == ["sent"]
    clock.current += timedelta(days=app.settings.retention_days + 1)
    await scheduler._maintain()
    assert app.store.notices_for(channel) == []
    with app.store.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM articles WHERE pruned_at IS NULL")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM articles")).scalar() > 0  # dedupe keys stay
    await app.close()
