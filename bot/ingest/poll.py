"""Poll feeds: claim the due ones, fetch each URL once, skip what has not changed, parse,
dedupe, enrich, cluster and store, then plan each feed's next check (bot/ingest/schedule.py).

One bad feed never stops the others: its error is stored on the feed row, counted in the
report and logged. Pausing and resuming a feed put a notice for each subscribed channel in the report.
"""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.errors import FeedError, StorageConflict
from bot.ingest import schedule
from bot.ingest.clean import extract_article
from bot.ingest.fetch import MAX_REDIRECTS, Fetcher, FetchResult, HTTPStatusError
from bot.ingest.urls import canonical_url
from bot.models import ChannelRef, FeedRow, FeedSchedule, ParsedFeed, PollReport
from bot.ports import Clock, IngestStore
from bot.storage import Storage

# The parser (feedparser, lxml) and the NLP (enrich, clustering) are imported where they are
# first needed: a poll whose feeds answer 304 or the same bytes as last time uses neither.
if TYPE_CHECKING:
    from bot.clustering import StoryIndex
    from bot.enrich import Enriched
    from bot.ingest.service import StoryIndexCache

log = logging.getLogger(__name__)


@dataclass
class _Fetched:
    """What the concurrent part found out about one feed; stored later, in feed order."""

    result: FetchResult | None = None
    body_hash: str | None = None
    parsed: ParsedFeed | None = None  # None with a result: 304 or the same body as last time
    error: Exception | None = None


async def poll_feeds(
    storage: Storage[IngestStore],
    fetcher: Fetcher,
    settings: Settings,
    clock: Clock,
    indexes: StoryIndexCache,
    feed_ids: Iterable[int] | None = None,
    *,
    due_only: bool = False,
) -> PollReport:
    """Fetch the given feeds (default: all, paused ones too) once, concurrently; with
    `due_only`, only those whose next check has come (what `run` and `poll --once` do). New
    articles are clustered against the story index `indexes` keeps (the ingest service's)."""
    started = time.perf_counter()
    now = clock.now()
    policy = schedule.Policy.from_settings(settings.fetch)
    # The lease outlasts the slowest possible fetch (every hop timing out), so a claimed
    # feed is only taken again if this poller died.
    lease = timedelta(seconds=settings.fetch.timeout_seconds * (MAX_REDIRECTS + 1)) + timedelta(minutes=5)
    targets = await storage.run(lambda s: s.claim_feeds(now, now + lease, ids=feed_ids, due_only=due_only))
    report = PollReport(feeds=len(targets))
    index: StoryIndex | None = None

    def story_index(store: IngestStore) -> StoryIndex:
        # under indexes.lock; taken up to date on first use (a pass of 304s needs no clustering
        # candidates), or again when a failed store dropped it
        nonlocal index
        if index is None or not indexes.holds(index):
            index = indexes.load(store, now)
        return index

    results: list[tuple[int, dict[str, Any]]] = []
    # Parsing and storing are CPU-bound; one worker thread keeps the event loop (and every other
    # fetch's timeout, and chat commands) running meanwhile, one feed at a time.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsbot-parse") as parser:
        full_text = {fc.url for fc in settings.feeds if fc.full_text}
        tasks = [
            asyncio.ensure_future(_fetch(fetcher, t.feed, now, parser, storage if t.feed.url in full_text else None))
            for t in targets
        ]
        try:
            # Stored in feed order, so which copy of a shared article is kept and how stories
            # form does not depend on which server answered first.
            loop = asyncio.get_running_loop()
            for target, task in zip(targets, tasks, strict=True):
                fetched = await task
                # storing (enrich, cluster, write; a failure's notices) runs on the parse thread, in feed
                # order, so neither a big first poll nor a locked database stalls the loop that answers
                # chat commands; the store is reached through the storage boundary's error translation
                settled = await loop.run_in_executor(
                    parser,
                    storage.call,
                    partial(_settle_with, settings, policy, target, fetched, now, story_index, indexes, report),
                )
                results.append((target.feed.id, settled))
        finally:
            for task in tasks:
                task.cancel()
            del tasks  # the fetch outcomes (and their errors' tracebacks) are garbage from here on

    def save(store: IngestStore) -> None:
        # the notices go in with the state that marks them told, so a crash cannot lose one
        store.save_poll_results(results, report.notices, now)
        if index is not None:
            with indexes.lock:
                indexes.stored(store, index, report.new_articles)

    await storage.run(save)
    report.seconds = time.perf_counter() - started
    return report


async def _fetch(
    fetcher: Fetcher,
    feed: FeedRow,
    now: datetime,
    parser: ThreadPoolExecutor,
    full_text_storage: Storage[IngestStore] | None = None,
) -> _Fetched:
    try:
        result = await fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        if result.status == 304 or result.body is None:
            return _Fetched(result)
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == feed.body_hash:
            return _Fetched(result, body_hash)  # same bytes as last time: not worth a parse
        from bot.ingest.parse import parse_feed

        body, url, headers = result.body, result.url, result.headers
        parsed = await asyncio.get_running_loop().run_in_executor(
            parser, lambda: parse_feed(body, url=url, now=now, headers=headers)
        )
        if full_text_storage is not None:
            parsed = await _with_full_text(fetcher, full_text_storage, feed, parsed, parser)
        return _Fetched(result, body_hash, parsed)
    except Exception as exc:  # kept and reported per feed, in order
        return _Fetched(error=exc)


FULL_TEXT_PAGES_PER_PASS = 20  # a feed that suddenly lists hundreds of new items is read over several passes


async def _with_full_text(
    fetcher: Fetcher, storage: Storage[IngestStore], feed: FeedRow, parsed: ParsedFeed, parser: ThreadPoolExecutor
) -> ParsedFeed:
    """Replace new items' teaser text by their article page's main text (through the same guarded fetcher)."""
    loop = asyncio.get_running_loop()
    items = []
    pages = 0
    urls = {item.guid: canonical_url(item.url) for item in parsed.items if item.url}
    # the same exact-dedupe keys store_items uses, looked up once for the whole feed
    known_guids, known_urls = await storage.run(lambda s: s.known_keys(feed.id, list(urls), list(urls.values())))
    for item in parsed.items:
        new = item.guid in urls and item.guid not in known_guids and urls[item.guid] not in known_urls
        if new and item.url and pages < FULL_TEXT_PAGES_PER_PASS:
            pages += 1
            try:
                page = await fetcher.fetch(item.url)
                kind = (page.headers or {}).get("content-type", "text/html").split(";")[0].strip().lower()
                if kind not in ("text/html", "application/xhtml+xml"):
                    items.append(item)  # a PDF or an image is no article text: keep the teaser
                    continue
                html = (page.body or b"").decode(_charset(page.headers), "replace")
                text = await loop.run_in_executor(parser, extract_article, html, page.url)
                if len(text) > len(item.text):
                    item = dataclasses.replace(item, text=text)
            except FeedError as exc:  # the feed's own teaser is still worth posting
                log.info("full text of %s not fetched, keeping the teaser: %s", item.url, exc.problem)
        items.append(item)
    return dataclasses.replace(parsed, items=tuple(items))


def _charset(headers: dict[str, str] | None) -> str:
    content_type = (headers or {}).get("content-type", "")
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            try:
                return codecs.lookup(value.strip('"')).name
            except LookupError:
                break
    return "utf-8"


def _settle_with(
    settings: Settings,
    policy: schedule.Policy,
    target: FeedSchedule,
    fetched: _Fetched,
    now: datetime,
    story_index: Callable[[IngestStore], StoryIndex],
    indexes: StoryIndexCache,
    report: PollReport,
    store: IngestStore,
) -> dict[str, Any]:
    return _settle(store, settings, policy, target, fetched, now, partial(story_index, store), indexes, report)


def _settle(
    store: IngestStore,
    settings: Settings,
    policy: schedule.Policy,
    target: FeedSchedule,
    fetched: _Fetched,
    now: datetime,
    story_index: Callable[[], StoryIndex],
    indexes: StoryIndexCache,
    report: PollReport,
) -> dict[str, Any]:
    """Count and store one feed's outcome; returns the feed row's new polling state."""
    feed = target.feed
    interval = policy.clamp(
        timedelta(seconds=target.interval_seconds) if target.interval_seconds else policy.default_interval
    )
    try:
        if fetched.error is not None:
            raise fetched.error
        result = fetched.result
        assert result is not None
        values: dict[str, Any] = {"last_checked_at": now, "last_status": result.status, "last_error": None}
        values["failure_count"] = 0
        if result.etag or result.status != 304:
            values["etag"] = result.etag
        if result.last_modified or result.status != 304:
            values["last_modified"] = result.last_modified
        if fetched.parsed is not None:
            parsed = fetched.parsed
            report.new_articles += _store_new_items(store, feed, parsed, settings, now, story_index, indexes)
            report.ok += 1
            rate = schedule.posting_interval((i.published for i in parsed.items), now, policy)
            interval = schedule.ttl_floor(parsed.ttl_minutes, rate, policy)
            values.update(body_hash=fetched.body_hash, interval_seconds=int(interval.total_seconds()))
            if parsed.title:
                values["title"] = parsed.title
        elif result.status == 304:
            report.not_modified += 1
        else:
            report.unchanged += 1
            values["body_hash"] = fetched.body_hash
        floor = schedule.cache_floor(result.headers, now, policy)
        values["next_check_at"] = schedule.after_success(now, feed.url, interval, floor)
        if feed.paused or target.pause_notified:
            values.update(paused=False, paused_at=None, pause_notified=False)
            log.info("feed %s works again; resumed", feed.url)
            if target.pause_notified:
                report.notices += _tell(store, feed.id, resumed_notice(feed))
        return _changed(feed, values)
    except Exception as exc:
        return _failed(store, policy, target, exc, interval, now, report)


def _store_new_items(
    store: IngestStore,
    feed: FeedRow,
    parsed: ParsedFeed,
    settings: Settings,
    now: datetime,
    story_index: Callable[[], StoryIndex],
    indexes: StoryIndexCache,
) -> int:
    """store_items, where another poller storing the same items at the same moment is no failure."""
    for _ in range(3):
        with indexes.lock:
            index = story_index()
            try:
                return store_items(store, feed, parsed, settings, now, index)
            except StorageConflict:
                # what the other stored is stored; the next try finds it known and adds only the rest
                log.info("another process stored items of %s at the same moment; trying again", feed.url)
            finally:
                if index.pending:  # it took this batch's stories, which the rollback undid
                    indexes.drop(index)
    return 0  # three others in a row: they have it covered


def _changed(feed: FeedRow, values: dict[str, Any]) -> dict[str, Any]:
    """Only the columns whose value moves: a pass of 304s then writes two columns a feed, not eight."""
    current = {
        "etag": feed.etag,
        "last_modified": feed.last_modified,
        "body_hash": feed.body_hash,
        "last_status": feed.last_status,
        "last_error": feed.last_error,
        "failure_count": feed.failure_count,
        "title": feed.title,
    }
    return {k: v for k, v in values.items() if k not in current or current[k] != v}


def _failed(
    store: IngestStore,
    policy: schedule.Policy,
    target: FeedSchedule,
    exc: Exception,
    interval: timedelta,
    now: datetime,
    report: PollReport,
) -> dict[str, Any]:
    feed = target.feed
    report.failed += 1
    if isinstance(exc, FeedError):
        problem = exc.problem
        report.errors.append(str(exc))
        log.warning("feed failed: %s", exc)
    else:  # one feed's bug must not stop the others
        problem = f"internal error: {exc!r}"
        report.errors.append(f"{feed.url}: {problem}")
        log.error("feed %s failed with an internal error", feed.url, exc_info=exc)
    failures = feed.failure_count + 1
    server_says = None
    if isinstance(exc, HTTPStatusError):
        server_says = schedule.retry_after(exc.retry_after, now)
    next_check, paused = schedule.after_failure(now, feed.url, failures, interval, policy, server_says)
    values: dict[str, Any] = {
        "last_checked_at": now,
        "last_status": exc.status if isinstance(exc, HTTPStatusError) else None,
        "last_error": problem,
        "failure_count": failures,
        "next_check_at": next_check,
        "paused": paused,
    }
    if paused and not feed.paused:
        values["paused_at"] = now
        log.warning("feed %s paused after %d failures in a row", feed.url, failures)
    if paused and not target.pause_notified:
        # Marked as told in the same write as the pause, so a restart never tells twice.
        values["pause_notified"] = True
        report.notices += _tell(store, feed.id, paused_notice(feed, failures, problem))
    return values


def _tell(store: IngestStore, feed_id: int, text: str) -> list[tuple[ChannelRef, str]]:
    return [(channel, text) for channel in store.subscribers(feed_id)]


def paused_notice(feed: FeedRow, failures: int, problem: str) -> str:
    return (
        f'The feed "{feed.display_name}" ({feed.url}) is paused: it failed {failures} times in a row. '
        f"The last error was: {problem}. newsbot will still try it once a day and will say so here "
        "when it works again."
    )


def resumed_notice(feed: FeedRow) -> str:
    return f'The feed "{feed.display_name}" ({feed.url}) works again; its new stories will be in the next digests.'


def format_report(report: PollReport) -> str:
    """The one-line summary `newsbot poll --once` prints."""
    return (
        f"polled {report.feeds} feeds: {report.ok} new content, {report.not_modified} not modified (304), "
        f"{report.unchanged} unchanged, {report.failed} failed; {report.new_articles} new articles "
        f"in {report.seconds:.2f}s"
    )


def store_items(
    store: IngestStore, feed: FeedRow, parsed: ParsedFeed, settings: Settings, now: datetime, index: StoryIndex
) -> int:
    """Store the feed's new items, oldest first, in one transaction; returns how many were new.

    Exact duplicates are dropped first: a GUID this feed already carries, or a canonical URL
    this batch has already. An item whose canonical URL is stored (from this or another feed) is
    linked to this feed rather than stored again, so every channel of every feed carrying it gets
    it. What is left is enriched once and clustered: the index plans, the store applies the plan,
    the index takes the ids. When storing fails, the index holds what the rollback undid: the
    caller must not use it again.
    """
    from bot.enrich import enrich

    items = [(item, canonical_url(item.url) if item.url else None) for item in reversed(parsed.items)]
    known_guids, known_urls = store.known_keys(feed.id, [i.guid for i, _ in items], [u for _, u in items if u])
    batch: list[dict[str, Any]] = []
    infos: list[Enriched] = []
    links: list[tuple[int, str]] = []
    batch_urls: set[str] = set()
    for item, canonical in items:
        if item.guid in known_guids:
            continue
        known_guids.add(item.guid)
        if canonical and canonical in known_urls:
            # stored already, maybe by another feed: this feed carries it too, so its channels get it
            links.append((known_urls[canonical], item.guid))
            continue
        if canonical and canonical in batch_urls:
            continue  # the same link twice in one feed: the first copy is the article
        if canonical:
            batch_urls.add(canonical)
        info = enrich(item, settings.digest)
        infos.append(info)
        batch.append(
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
            }
        )
    linked = store.link_articles(feed.id, links, now)
    if linked:
        log.debug("feed %s carries %d articles another feed fetched first", feed.url, linked)
    if not batch:
        return 0
    plan = index.plan(infos)
    index.applied(plan, store.add_articles(batch, plan, now))
    return len(batch)
