"""Composition root: settings -> store -> storage boundary -> the three services -> adapters.

The CLI and the scheduler call App; App is the only place that picks concrete adapters,
and it imports them lazily so the core never needs a platform library.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict
from datetime import datetime
from typing import TextIO

from bot.commands.router import Router
from bot.config import Settings, SubscriptionConfig
from bot.delivery import DigestOutcome
from bot.errors import ConfigError
from bot.ingest.clean import full_text_problem
from bot.ingest.service import IngestService
from bot.models import CommandRequest, PollReport, Reply
from bot.ports import ChatAdapter, Clock, CommandSource, SystemClock, UsesChannelLookup
from bot.posting import DeliveryService
from bot.shutdown import PostGate
from bot.storage import Storage
from bot.store.errors import translate
from bot.store.store import Store

log = logging.getLogger(__name__)


class App:
    """Wires the three services once: ingest (bot.ingest.service), delivery (bot.posting) and commands
    (bot.commands.router), over one storage boundary (bot.storage), with the adapters and the clock.

    It does nothing else; its entry points below only hand over to the service that does the work.
    `store` is the concrete store, for start-up (`sync_config`) and tests; the services reach it only
    through `storage`, off the event loop.
    """

    def __init__(
        self, settings: Settings, store: Store, adapters: dict[str, ChatAdapter], clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.adapters = adapters
        self.clock: Clock = clock or SystemClock()
        self.storage: Storage[Store] = Storage(store, translate=translate)
        self.ingest = IngestService(self.storage, settings, self.clock)
        self.delivery = DeliveryService(self.storage, adapters, settings.digest, self.clock)
        # the scheduler rebuilds its digest jobs when a command changes a schedule
        self.schedule_listeners: list[Callable[[], Awaitable[None]]] = []
        self.commands = Router(
            self.storage, settings, self.clock, self.ingest, self.delivery, schedule_changed=self._schedule_changed
        )
        self.router = self.commands
        self.fetcher = self.ingest.fetcher
        # closed on SIGTERM (cli, scheduler): the digest message in flight finishes, no new one starts
        self.gate = PostGate()
        for adapter in adapters.values():
            self.gate.install(adapter)
            if isinstance(adapter, UsesChannelLookup):
                adapter.lookup = self.commands  # autocomplete offers the channel's own feeds and topics

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        stream: TextIO | None = None,
        adapters: dict[str, ChatAdapter] | None = None,
        serving: bool = True,
    ) -> App:
        """`serving=False` for commands that only post: adapters then ask for no listening secrets."""
        _check_full_text(settings)
        store = Store.open(settings.database_url)
        if adapters is None:
            adapters = build_adapters(settings, stream, serving=serving)
        app = cls(settings, store, adapters, clock)
        app.storage.call(lambda s: sync_config(s, settings, app.clock.now()))
        return app

    async def close(self) -> None:
        for adapter in self.adapters.values():
            if isinstance(adapter, CommandSource):
                await adapter.stop()
        await self.ingest.close()
        self.storage.close()
        self.store.close()

    def sync_config(self) -> None:
        self.storage.call(lambda s: sync_config(s, self.settings, self.clock.now()))

    async def _schedule_changed(self) -> None:
        for listener in self.schedule_listeners:
            await listener()

    # --- entry points (the CLI's and the tests'), each handed to its service ----------------

    async def poll(self, feed_ids: Iterable[int] | None = None, *, due_only: bool = False) -> PollReport:
        """A polling pass, then the notices it queued."""
        report = await self.ingest.poll(feed_ids, due_only=due_only)
        try:
            await self.delivery.send_notices()
        except Exception:  # the poll itself went through: its report still counts
            log.exception("could not send the queued feed notices; they stay queued")
        return report

    async def digest_all(self, subscription_ids: Iterable[int] | None = None) -> list[DigestOutcome]:
        return await self.delivery.digest_all(subscription_ids)

    async def send_notices(self) -> int:
        return await self.delivery.send_notices()

    async def handle_command(self, request: CommandRequest) -> Reply:
        return await self.commands.handle(request)


def sync_config(store: Store, settings: Settings, now: datetime) -> None:
    """Make the database hold every feed and subscription the config declares (adding, never deleting).

    A [[subscriptions]] entry's settings are applied when the entry is new or changed in the
    file; otherwise what commands changed since stays. Runs once at start-up, before the loop serves.
    """
    ids = {fc.url: store.add_feed(fc.url, now, name=fc.name, from_config=True) for fc in settings.feeds}
    for sc in settings.subscriptions:
        digest = _config_digest(sc)
        existing = store.subscription(sc.channel)
        if existing is not None and existing.config_digest == digest:
            continue  # unchanged in the file: what chat commands changed since stays
        sub_id = store.upsert_subscription(
            sc.channel,
            now,
            schedule=sc.schedule,
            timezone=sc.timezone,
            weekdays=sc.weekdays,
            max_stories=sc.max_stories,
            from_config=True,
        )
        feed_ids = [ids[url] if url in ids else store.add_feed(url, now) for url in sc.feeds]
        store.subscribe(sub_id, feed_ids, now)
        # marked applied only once its feeds are linked: a process starting alongside that sees the
        # mark must find the links too (it applies the entry again meanwhile, which changes nothing)
        store.upsert_subscription(sc.channel, now, config_digest=digest)


def _check_full_text(settings: Settings) -> None:
    """A feed set to full text must get it: without trafilatura it would quietly keep its teasers."""
    wanted = [i for i, fc in enumerate(settings.feeds) if fc.full_text]
    problem = full_text_problem() if wanted else None
    if problem:
        raise ConfigError(f"feeds[{wanted[0]}].full_text", problem)


def _config_digest(sc: SubscriptionConfig) -> str:
    data = asdict(sc) | {"channel": str(sc.channel)}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=list).encode()).hexdigest()[:16]


def build_adapters(settings: Settings, stream: TextIO | None = None, *, serving: bool = True) -> dict[str, ChatAdapter]:
    """The adapters the config enables; a missing secret is a ConfigError naming its key.

    Without `serving` an adapter needs only what posting needs (Slack's app token is for listening).
    """
    adapters: dict[str, ChatAdapter] = {}
    if settings.console.enabled:
        from adapters.console import ConsoleAdapter

        adapters["console"] = ConsoleAdapter(stream, settings.console.color)
    if settings.slack.enabled:
        from adapters.slack import SlackAdapter

        adapters["slack"] = SlackAdapter.from_settings(settings, serving=serving)
    if settings.discord.enabled:
        from adapters.discord import DiscordAdapter

        adapters["discord"] = DiscordAdapter.from_settings(settings)
    return adapters
