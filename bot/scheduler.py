"""The long-running loop: APScheduler 3.x jobs for polling and daily digests.

The only importer of apscheduler. Jobs are rebuilt from the database at start-up
with stable ids; digests fire at the channel's local time, with coalescing and a
misfire grace so a bot that was down at 08:00 posts once when it is back.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.app import App
from bot.config import parse_time_of_day
from bot.digest import run_digest

log = logging.getLogger(__name__)

DIGEST_GRACE = timedelta(hours=6)


def slot_for(time_of_day: str, timezone: str, now: datetime) -> datetime:
    """The most recent occurrence of `time_of_day` in `timezone` at or before `now`, in UTC."""
    hour, minute = parse_time_of_day(time_of_day)
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    for back in range(3):
        day = (local - timedelta(days=back)).date()
        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        if candidate <= local:
            return candidate.astimezone(ZoneInfo("UTC"))
    raise AssertionError("unreachable: one of the last three days has the time")


def build_scheduler(app: App) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        _poll,
        IntervalTrigger(minutes=app.settings.fetch.poll_minutes),
        args=[app],
        id="poll",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        next_run_time=app.clock.now(),
    )
    for sub in app.store.subscriptions():
        for time_of_day in sub.schedule:
            hour, minute = parse_time_of_day(time_of_day)
            trigger = CronTrigger(
                hour=hour, minute=minute, day_of_week=",".join(sub.weekdays), timezone=ZoneInfo(sub.timezone)
            )
            scheduler.add_job(
                _digest,
                trigger,
                args=[app, sub.id, time_of_day],
                id=f"digest:{sub.id}:{time_of_day}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=int(DIGEST_GRACE.total_seconds()),
            )
    return scheduler


async def _poll(app: App) -> None:
    report = await app.poll()
    log.info(
        "polled %d feeds: %d new, %d 304, %d unchanged, %d failed, %d new articles in %.2fs",
        report.feeds,
        report.ok,
        report.not_modified,
        report.unchanged,
        report.failed,
        report.new_articles,
        report.seconds,
    )


async def _digest(app: App, subscription_id: int, time_of_day: str) -> None:
    for sub in app.store.subscriptions():
        if sub.id == subscription_id:
            slot = slot_for(time_of_day, sub.timezone, app.clock.now())
            for outcome in await run_digest(app.store, app.adapters, sub, app.settings.digest, app.clock, slot):
                log.info("digest for %s: %s %s", outcome.channel, outcome.status, outcome.message)


async def run_forever(app: App) -> None:
    """Run the jobs until SIGINT or SIGTERM, then shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler = build_scheduler(app)
    scheduler.start()
    jobs = ", ".join(job.id for job in scheduler.get_jobs())
    log.info("newsbot is running (jobs: %s); press Ctrl-C to stop", jobs)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        log.info("newsbot stopped")
