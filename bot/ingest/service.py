"""The ingest service: feeds fetched, parsed, deduped, condensed, clustered and stored.

It owns the fetcher (one HTTP session, behind the address guard) and runs each pass through
bot.ingest.poll, whose database work goes through the storage boundary (bot.storage). The
notices a pass queues (a feed paused, working again) are the delivery service's to post.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.config import Settings
from bot.ingest.fetch import Fetcher
from bot.ingest.poll import poll_feeds
from bot.models import PollReport
from bot.ports import Clock, IngestStore
from bot.storage import Storage


class IngestService:
    def __init__(self, storage: Storage[IngestStore], settings: Settings, clock: Clock) -> None:
        self.storage = storage
        self.settings = settings
        self.clock = clock
        self.fetcher = Fetcher(settings.fetch)

    async def poll(self, feed_ids: Iterable[int] | None = None, *, due_only: bool = False) -> PollReport:
        """One pass over the given feeds (default all; with `due_only`, those whose next check has come)."""
        return await poll_feeds(self.storage, self.fetcher, self.settings, self.clock, feed_ids, due_only=due_only)

    async def close(self) -> None:
        await self.fetcher.close()
