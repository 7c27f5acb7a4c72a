"""The ingest service: feeds fetched, parsed, deduped, condensed, clustered and stored.

It owns the fetcher (one HTTP session, behind the address guard) and the story index kept between
passes (StoryIndexCache), and runs each pass through bot.ingest.poll, whose database work goes
through the storage boundary (bot.storage). The notices a pass queues (a feed paused, working
again) are the delivery service's to post.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import heap
from bot.config import Settings
from bot.ingest.fetch import Fetcher
from bot.ingest.poll import poll_feeds
from bot.models import PollReport
from bot.ports import Clock, IngestStore
from bot.storage import Storage

if TYPE_CHECKING:  # the clustering code loads on the first pass that has something new
    from bot.clustering import StoryIndex

# Rebuilt hourly, which also drops articles that left the clustering window (and any another
# worker stored out of id order).
INDEX_REBUILD = timedelta(hours=1)


class IngestService:
    def __init__(self, storage: Storage[IngestStore], settings: Settings, clock: Clock) -> None:
        self.storage = storage
        self.settings = settings
        self.clock = clock
        self.fetcher = Fetcher(settings.fetch)
        self.stories = StoryIndexCache(settings.digest.cluster_hours)

    async def poll(self, feed_ids: Iterable[int] | None = None, *, due_only: bool = False) -> PollReport:
        """One pass over the given feeds (default all; with `due_only`, those whose next check has come)."""
        return await poll_feeds(
            self.storage, self.fetcher, self.settings, self.clock, self.stories, feed_ids, due_only=due_only
        )

    async def close(self) -> None:
        await self.fetcher.close()


@dataclass
class _Built:
    index: StoryIndex
    top_id: int  # the highest article id the index has seen
    built_at: datetime
    removals: int  # the store's feed removal count when it was built
    fresh: bool = True  # built in this pass (bot/heap.py keeps the collector off it)


class StoryIndexCache:
    """The story index a long-running bot keeps between polling passes: reloading the whole
    clustering window every minute would cost more than the passes themselves.

    Each pass takes it up to date once (`load`): built again hourly, or when any process removed a
    feed since (the store's `feed_removals` count, bumped in the removal's own transaction, so a
    removal from the command line or another worker counts too: the index would hold articles that
    are gone, whose ids SQLite may give to new articles that a split would then move), or after a
    failed store dropped it; otherwise it loads only the articles stored since. Whoever plans against
    it holds `lock`, from `load` to the store's answer: two passes at once (a command's poll during
    the scheduled one) take turns.
    """

    def __init__(self, cluster_hours: float) -> None:
        self.cluster_hours = cluster_hours
        self.lock = threading.Lock()
        self._built: _Built | None = None

    def load(self, store: IngestStore, now: datetime) -> StoryIndex:
        """The index, with every article the store holds in the clustering window."""
        from bot.clustering import StoryIndex

        since = now - timedelta(hours=self.cluster_hours)
        # read before the articles: a removal between the two makes the next pass build again
        removals = store.feed_removals()
        built = self._built
        if built is None or now - built.built_at > INDEX_REBUILD or now < built.built_at or built.removals != removals:
            candidates, top = store.cluster_candidates_after(since, 0)
            built = self._built = _Built(StoryIndex(candidates, window_hours=self.cluster_hours), top, now, removals)
        else:
            candidates, built.top_id = store.cluster_candidates_after(since, built.top_id)
            built.index.extend(candidates)
        return built.index

    @property
    def index(self) -> StoryIndex | None:
        """The kept index, if one is built."""
        return None if self._built is None else self._built.index

    def holds(self, index: StoryIndex) -> bool:
        """Is this still the kept index (not dropped or built again since)?"""
        return self._built is not None and self._built.index is index

    def drop(self, index: StoryIndex) -> None:
        """A store of a plan failed: the index took stories the rollback undid, so the next `load`
        builds it again from the database."""
        if self.holds(index):
            self._built = None

    def stored(self, store: IngestStore, index: StoryIndex, new_articles: int) -> None:
        """After a pass: what it stored is in the index already, so the next pass loads only newer articles."""
        built = self._built
        if built is None or built.index is not index:
            return
        built.top_id = store.max_article_id()
        # a rebuilt index is all new to the collector; otherwise only what this pass added is
        heap.grew(len(built.index) if built.fresh else new_articles)
        built.fresh = False
