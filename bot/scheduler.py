"""The long-running loop: APScheduler 3.x jobs for polling, daily digests and maintenance.

The only importer of apscheduler. Jobs are rebuilt from the database at start-up (and
whenever a schedule command changes one) with stable ids; digests fire at the channel's
local time with coalescing and a misfire grace, and a start-up catch-up posts one digest
for a slot missed while the bot was down, never more.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.app import App
from bot.config import WEEKDAYS, parse_time_of_day
from bot.delivery import DigestOutcome
from bot.models import SubscriptionRow
from bot.ports import CommandSource, DeliveryStore, MaintenanceStore
from bot.shutdown import Stopping

log = logging.getLogger(__name__)
UTC = ZoneInfo("UTC")
# how long `run` waits on SIGTERM for a running job (a digest post in flight) before cancelling it
STOP_GRACE_SECONDS = 20.0


def digest_trigger(time_of_day: str, timezone: str, weekdays: tuple[str, ...]) -> CronTrigger:
    hour, minute = parse_time_of_day(time_of_day)
    days = ",".join(weekdays) if weekdays and len(weekdays) < 7 else "*"
    return CronTrigger(hour=hour, minute=minute, day_of_week=days, timezone=ZoneInfo(timezone))


def slot_for(time_of_day: str, timezone: str, now: datetime) -> datetime:
    """The most recent occurrence of `time_of_day` in `timezone` at or before `now`, in UTC.

    A wall time that does not exist on a spring-forward day maps forward, as the cron trigger does.
    """
    hour, minute = parse_time_of_day(time_of_day)
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    for back in range(3):
        day = (local - timedelta(days=back)).date()
        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        # round-trip through UTC to normalise a non-existent local time
        candidate = candidate.astimezone(UTC).astimezone(zone)
        if candidate <= local:
            return candidate.astimezone(UTC)
    raise AssertionError("unreachable: one of the last three days has the time")


def missed_slot(sub: SubscriptionRow, created_at: datetime | None, now: datetime, grace: timedelta) -> datetime | None:
    """The latest scheduled slot within `grace` before `now` on an allowed weekday, if any."""
    best: datetime | None = None
    for time_of_day in sub.schedule:
        slot = slot_for(time_of_day, sub.timezone, now)
        for _ in range(8):  # walk back to an allowed weekday
            local_day = WEEKDAYS[slot.astimezone(ZoneInfo(sub.timezone)).weekday()]
            if not sub.weekdays or local_day in sub.weekdays:
                break
            slot = slot_for(time_of_day, sub.timezone, slot - timedelta(minutes=1))
        if now - slot <= grace and (created_at is None or slot > created_at) and (best is None or slot > best):
            best = slot
    return best


async def post_slot(app: App, sub: SubscriptionRow, slot: datetime) -> list[DigestOutcome]:
    return await app.delivery.post_slot(sub, slot)


async def catch_up(app: App) -> int:
    """Post one digest for each channel whose latest slot passed while the bot was down; returns how many."""
    now = app.clock.now()
    grace = timedelta(minutes=app.settings.digest.grace_minutes)

    def missed(store: DeliveryStore) -> list[tuple[SubscriptionRow, datetime]]:
        due = []
        for sub in store.subscriptions():
            slot = missed_slot(sub, sub.created_at, now, grace)
            if slot is not None and not store.has_digest(sub.id, slot):
                due.append((sub, slot))
        return due

    posted = 0
    for sub, slot in await app.storage.run(missed):
        outcomes = await app.delivery.post_slot(sub, slot)
        posted += any(o.status in ("posted", "resumed") for o in outcomes)
    return posted


async def finish_pending(app: App) -> int:
    """Post digests left pending by a crash or a platform error, once their retry time has come."""
    return await app.delivery.finish_pending()


class Scheduler:
    """Owns the APScheduler instance and keeps its digest jobs in step with the database."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.aps = AsyncIOScheduler(timezone="UTC")
        self._schedules: object = None  # what the digest jobs were last built from
        self._running: set[asyncio.Task[None]] = set()  # jobs in progress, for a clean stop
        app.schedule_listeners.append(self.refresh)

    async def start(self) -> None:
        # every minute, but only feeds whose own next check is due are fetched
        self.aps.add_job(
            self._poll_job,
            IntervalTrigger(minutes=1),
            id="poll",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        self.aps.add_job(
            self._maintain,
            IntervalTrigger(hours=6),
            id="maintenance",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        await self.refresh()
        self.aps.start()

    def shutdown(self) -> None:
        self.aps.shutdown(wait=False)

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Start no job, and give the running ones `grace` seconds to end (a post in flight finishes,
        the gate stops the next); what is left is cancelled, which gives its claims back too."""
        self.shutdown()
        running = {task for task in self._running if not task.done()}
        if not running:
            return
        _done, late = await asyncio.wait(running, timeout=grace)
        for task in late:
            log.warning("stopping: a job still running after %g s is cancelled", grace)
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _job(self, work: Awaitable[object]) -> None:
        """Run one job's work as a task `stop` can wait for; a stop request ends it quietly."""
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await work
        except Stopping:
            log.info("stopping: the digest in progress stays pending for the next run")
        finally:
            self._running.discard(task)

    async def refresh(self) -> None:
        """Rebuild the digest jobs from the subscriptions as stored now."""
        self.rebuild(await self.app.storage.run(lambda s: s.subscriptions()))

    def rebuild(self, subs: list[SubscriptionRow]) -> None:
        """One job per (channel, time of day), with ids that stay the same across restarts."""
        # APScheduler wants a positive grace or None; 0 minutes means "only on time"
        grace = int(timedelta(minutes=self.app.settings.digest.grace_minutes).total_seconds()) or 1
        wanted = set()
        self._schedules = _schedules(subs)
        for sub in subs:
            for time_of_day in sub.schedule:
                job_id = f"digest:{sub.id}:{time_of_day}"
                wanted.add(job_id)
                self.aps.add_job(
                    self._digest_job,
                    digest_trigger(time_of_day, sub.timezone, sub.weekdays),
                    args=[sub.id, time_of_day],
                    id=job_id,
                    replace_existing=True,
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=grace,
                )
        for job in self.aps.get_jobs():
            if job.id.startswith("digest:") and job.id not in wanted:
                job.remove()

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self.aps.get_jobs())

    def next_digests(self) -> dict[int, datetime]:
        """Each scheduled subscription's next digest time (UTC), once the scheduler has started."""
        nexts: dict[int, datetime] = {}
        for job in self.aps.get_jobs():
            when = getattr(job, "next_run_time", None)
            if job.id.startswith("digest:") and when is not None:
                sub_id = int(job.id.split(":")[1])
                nexts[sub_id] = min(when, nexts.get(sub_id, when))
        return nexts

    async def poll_once(self) -> None:
        """The minute job: due feeds, pending digests, and schedules changed by another process."""
        subs = await self.app.storage.run(lambda s: s.subscriptions())
        if _schedules(subs) != self._schedules:
            self.rebuild(subs)
        await self.app.delivery.finish_pending()
        r = await self.app.poll(due_only=True)
        log.info(
            "polled %d feeds: %d new content, %d 304, %d unchanged, %d failed, %d new articles in %.2fs",
            r.feeds,
            r.ok,
            r.not_modified,
            r.unchanged,
            r.failed,
            r.new_articles,
            r.seconds,
        )

    async def _poll_job(self) -> None:
        await self._job(self.poll_once())

    async def _digest_job(self, subscription_id: int, time_of_day: str) -> None:
        await self._job(self._digest(subscription_id, time_of_day))

    async def _maintain(self) -> None:
        now = self.app.clock.now()
        cutoff = now - timedelta(days=self.app.settings.retention_days)

        def prune(store: MaintenanceStore) -> int:
            pruned = store.prune_bodies(cutoff, now)
            store.prune_notices(cutoff)
            return pruned

        pruned = await self.app.storage.run(prune)
        if pruned:
            log.info("pruned the bodies of %d old articles (their dedupe keys stay)", pruned)

    async def _digest(self, subscription_id: int, time_of_day: str) -> None:
        sub = await self.app.storage.run(lambda s: s.subscription_by_id(subscription_id))
        if sub is None or time_of_day not in sub.schedule:
            return  # changed since the job was made; rebuild() removes it
        await self.app.delivery.post_slot(sub, slot_for(time_of_day, sub.timezone, self.app.clock.now()))


def _schedules(subs: list[SubscriptionRow]) -> list[tuple[int, tuple[str, ...], str, tuple[str, ...]]]:
    return [(s.id, s.schedule, s.timezone, s.weekdays) for s in subs]


START_LINE_CHANNELS = 10  # more are counted, not named: the line stays one line


def start_line(subs: list[SubscriptionRow], feeds: int, nexts: dict[int, datetime]) -> str:
    """What the running bot will do: how many feeds and channels, and when each channel's next digest is."""
    plans = []
    for sub in subs[:START_LINE_CHANNELS]:
        when = nexts.get(sub.id)
        local = when.astimezone(ZoneInfo(sub.timezone)) if when else None
        # ISO 8601 with the offset, as every time newsbot prints, then the zone's name for people
        plans.append(f"{sub.channel} {local.isoformat()} ({sub.timezone})" if local else f"{sub.channel} on demand")
    if len(subs) > START_LINE_CHANNELS:
        plans.append(f"and {len(subs) - START_LINE_CHANNELS} more")
    counts = f"{feeds} feed{'s' if feeds != 1 else ''}, {len(subs)} channel{'s' if len(subs) != 1 else ''}"
    digests = f"; next digests: {', '.join(plans)}" if plans else "; no channel yet (add a [[subscriptions]] entry)"
    return f"newsbot is running: {counts}{digests}. Ctrl-C or SIGTERM stops it."


async def run_forever(app: App) -> None:
    """Catch up on a missed digest, then run the jobs until SIGINT or SIGTERM, and shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_stop() -> None:
        stop.set()
        app.gate.close()  # a digest message being posted finishes; no new one starts

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_stop)
    scheduler = Scheduler(app)
    await scheduler.start()
    try:
        # adapters connect first: a bad token stops the start with its message, before any work
        for adapter in app.adapters.values():
            if isinstance(adapter, CommandSource):
                await adapter.start(app.handle_command)
        subs, feeds = await app.storage.run(lambda s: (s.subscriptions(), len(s.feeds())))
        log.info("%s", start_line(subs, feeds, scheduler.next_digests()))
        if not feeds:
            log.warning("no feeds to poll yet: add [[feeds]] to the config, or a channel can subscribe")
        await scheduler.poll_once()
        if await catch_up(app):
            log.info("posted the digests missed while newsbot was down")
        await stop.wait()
    except Stopping:
        log.info("stopping: the digest in progress stays pending for the next run")
    finally:
        await scheduler.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        log.info("newsbot stopped")
