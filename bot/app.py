"""Composition root: settings -> store -> fetcher -> adapters, and the jobs that use them.

The CLI and the scheduler call App; App is the only place that picks concrete
adapters, and it imports them lazily so the core never needs a platform library.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from bot.config import Settings
from bot.digest import DigestOutcome, run_digest
from bot.errors import ConfigError
from bot.ingest.fetch import Fetcher
from bot.ingest.poll import poll_feeds
from bot.models import PollReport
from bot.ports import ChatAdapter, Clock, SystemClock
from bot.store.store import Store


class App:
    def __init__(
        self, settings: Settings, store: Store, adapters: dict[str, ChatAdapter], clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.adapters = adapters
        self.clock: Clock = clock or SystemClock()
        self.fetcher = Fetcher(settings.fetch)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        stream: TextIO | None = None,
        adapters: dict[str, ChatAdapter] | None = None,
    ) -> App:
        store = Store.open(settings.database_url)
        app = cls(settings, store, adapters if adapters is not None else build_adapters(settings, stream), clock)
        app.sync_config()
        return app

    async def close(self) -> None:
        await self.fetcher.close()
        self.store.close()

    def sync_config(self) -> None:
        """Make the database hold every feed and subscription the config declares (adding, never deleting)."""
        now = self.clock.now()
        ids = {fc.url: self.store.add_feed(fc.url, now, name=fc.name, from_config=True) for fc in self.settings.feeds}
        for sc in self.settings.subscriptions:
            sub_id = self.store.upsert_subscription(
                sc.channel,
                now,
                schedule=sc.schedule,
                timezone=sc.timezone,
                weekdays=sc.weekdays,
                max_stories=sc.max_stories,
                from_config=True,
            )
            feed_ids = [ids[url] if url in ids else self.store.add_feed(url, now) for url in sc.feeds]
            self.store.subscribe(sub_id, feed_ids, now)

    async def poll(self, feed_ids: Iterable[int] | None = None) -> PollReport:
        return await poll_feeds(self.store, self.fetcher, self.settings, self.clock, feed_ids)

    async def digest_all(self, subscription_ids: Iterable[int] | None = None) -> list[DigestOutcome]:
        wanted = set(subscription_ids) if subscription_ids is not None else None
        outcomes: list[DigestOutcome] = []
        for sub in self.store.subscriptions():
            if wanted is None or sub.id in wanted:
                outcomes += await run_digest(self.store, self.adapters, sub, self.settings.digest, self.clock)
        return outcomes


def build_adapters(settings: Settings, stream: TextIO | None = None) -> dict[str, ChatAdapter]:
    """The adapters the config enables; a platform that is enabled but not available is a config error."""
    adapters: dict[str, ChatAdapter] = {}
    if settings.console.enabled:
        from adapters.console import ConsoleAdapter

        adapters["console"] = ConsoleAdapter(stream, settings.console.color)
    for platform, enabled in (("slack", settings.slack.enabled), ("discord", settings.discord.enabled)):
        if enabled:
            raise ConfigError(
                f"{platform}.enabled",
                f"the {platform} adapter is not part of this version yet; "
                "set it to false (see README: Slack and Discord)",
            )
    return adapters
