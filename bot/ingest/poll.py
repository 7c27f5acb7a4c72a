"""Poll feeds: fetch, skip what has not changed, parse, dedupe, enrich, cluster and store.

One bad feed never stops the others: its error is stored on the feed row, counted
in the report and logged, and the pass goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.clustering import StoryIndex
from bot.config import Settings
from bot.enrich import enrich
from bot.errors import FeedError
from bot.ingest.fetch import Fetcher, FetchResult
from bot.ingest.parse import parse_feed
from bot.ingest.urls import canonical_url
from bot.models import ParsedFeed, PollReport
from bot.ports import Clock
from bot.store.store import FeedRow, Store

log = logging.getLogger(__name__)


async def poll_feeds(
    store: Store, fetcher: Fetcher, settings: Settings, clock: Clock, feed_ids: Iterable[int] | None = None
) -> PollReport:
    """Fetch every given feed (default: every feed not paused) once, concurrently."""
    started = time.perf_counter()
    now = clock.now()
    targets = [f for f in store.feeds(feed_ids) if not f.paused]
    index = StoryIndex(store.cluster_candidates(now - timedelta(hours=settings.digest.cluster_hours)))
    report = PollReport(feeds=len(targets))
    limit = asyncio.Semaphore(8)

    async def fetch(feed: FeedRow) -> FetchResult | BaseException:
        async with limit:
            try:
                return await fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
            except Exception as exc:  # kept and reported per feed below
                return exc

    # Fetch concurrently, then store in feed order, so which copy of a shared article
    # is kept and how stories form does not depend on which server answered first.
    results = await asyncio.gather(*(fetch(f) for f in targets))
    for feed, result in zip(targets, results, strict=True):
        try:
            if isinstance(result, BaseException):
                raise result
            _store_result(store, settings, clock, feed, result, index, report)
        except FeedError as exc:
            report.failed += 1
            report.errors.append(str(exc))
            store.record_fetch(feed.id, clock.now(), status=None, error=exc.problem)
            log.warning("feed failed: %s", exc)
        except Exception as exc:  # one feed's bug must not stop the others
            report.failed += 1
            report.errors.append(f"{feed.url}: internal error: {exc!r}")
            store.record_fetch(feed.id, clock.now(), status=None, error=f"internal error: {exc!r}")
            log.error("feed %s failed with an internal error", feed.url, exc_info=exc)
    report.seconds = time.perf_counter() - started
    return report


def _store_result(
    store: Store,
    settings: Settings,
    clock: Clock,
    feed: FeedRow,
    result: FetchResult,
    index: StoryIndex,
    report: PollReport,
) -> None:
    now = clock.now()
    if result.status == 304 or result.body is None:
        report.not_modified += 1
        store.record_fetch(feed.id, now, status=304)
        return
    body_hash = hashlib.sha256(result.body).hexdigest()
    if body_hash == feed.body_hash:
        report.unchanged += 1
        store.record_fetch(
            feed.id,
            now,
            status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=body_hash,
        )
        return
    parsed = parse_feed(result.body, url=result.url, now=now, headers=result.headers)
    report.ok += 1
    report.new_articles += store_items(store, feed, parsed, settings, now, index)
    store.record_fetch(
        feed.id,
        now,
        status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        body_hash=body_hash,
        title=parsed.title or None,
    )


def store_items(
    store: Store, feed: FeedRow, parsed: ParsedFeed, settings: Settings, now: datetime, index: StoryIndex
) -> int:
    """Store the feed's new items, oldest first; returns how many were new."""
    new = 0
    for item in reversed(parsed.items):
        canonical = canonical_url(item.url) if item.url else None
        if store.known_article(feed.id, item.guid, canonical):
            continue
        info = enrich(item, settings.digest)
        story_id = index.find(info)
        _, story_id = store.add_article(
            {
                "feed_id": feed.id,
                "guid": item.guid,
                "url": item.url,
                "canonical_url": canonical,
                "title": item.title,
                "text": item.text,
                "author": item.author,
                "published_at": item.published,
                "first_seen_at": now,
                "content_hash": info.content_hash,
                "summary": info.summary,
                "entities": info.entities,
                "shingles": info.shingles,
            },
            story_id,
            now,
        )
        index.add(story_id, info)
        new += 1
    return new
