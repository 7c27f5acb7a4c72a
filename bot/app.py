"""Composition root: settings -> store -> fetcher -> adapters -> router, and the jobs that use them.

The CLI and the scheduler call App; App is the only place that picks concrete adapters,
and it imports them lazily so the core never needs a platform library.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import timedelta
from typing import TextIO

from bot.commands.router import Router
from bot.config import Settings, SubscriptionConfig
from bot.delivery import DigestOutcome, run_digest
from bot.errors import ConfigError, PostError
from bot.ingest.clean import full_text_problem
from bot.ingest.fetch import Fetcher
from bot.ingest.poll import poll_feeds
from bot.models import ChannelRef, CommandRequest, PollReport, Reply
from bot.ports import ChatAdapter, Clock, CommandSource, SystemClock, UsesChannelLookup
from bot.shutdown import PostGate
from bot.store.store import Store, SubscriptionRow
from bot.text_safety import safe_line

log = logging.getLogger(__name__)


class App:
    def __init__(
        self, settings: Settings, store: Store, adapters: dict[str, ChatAdapter], clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.adapters = adapters
        self.clock: Clock = clock or SystemClock()
        self.fetcher = Fetcher(settings.fetch)
        self.router = Router(self)
        self.on_schedule_change: Callable[[], None] | None = None  # set by the scheduler
        # closed on SIGTERM (cli, scheduler): the digest message in flight finishes, no new one starts
        self.gate = PostGate()
        for adapter in adapters.values():
            self.gate.install(adapter)
            if isinstance(adapter, UsesChannelLookup):
                adapter.lookup = self  # autocomplete offers the channel's own feeds and topics

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
        app.sync_config()
        return app

    async def close(self) -> None:
        for adapter in self.adapters.values():
            if isinstance(adapter, CommandSource):
                await adapter.stop()
        await self.fetcher.close()
        self.store.close()

    def sync_config(self) -> None:
        """Make the database hold every feed and subscription the config declares (adding, never deleting).

        A [[subscriptions]] entry's settings are applied when the entry is new or changed in the
        file; otherwise what commands changed since stays.
        """
        now = self.clock.now()
        ids = {fc.url: self.store.add_feed(fc.url, now, name=fc.name, from_config=True) for fc in self.settings.feeds}
        for sc in self.settings.subscriptions:
            digest = _config_digest(sc)
            existing = self.store.subscription(sc.channel)
            if existing is not None and existing.config_digest == digest:
                continue  # unchanged in the file: what chat commands changed since stays
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
            # marked applied only once its feeds are linked: a process starting alongside that sees the
            # mark must find the links too (it applies the entry again meanwhile, which changes nothing)
            self.store.upsert_subscription(sc.channel, now, config_digest=digest)

    # --- the Service the command router uses ----------------------------------------------

    async def poll(self, feed_ids: Iterable[int] | None = None, *, due_only: bool = False) -> PollReport:
        report = await poll_feeds(self.store, self.fetcher, self.settings, self.clock, feed_ids, due_only=due_only)
        try:
            await self.send_notices()
        except Exception:  # the poll itself went through: its report still counts
            log.exception("could not send the queued feed notices; they stay queued")
        return report

    async def digest_for(self, sub: SubscriptionRow, kind: str = "scheduled") -> list[DigestOutcome]:
        return await run_digest(self.store, self.adapters, sub, self.settings.digest, self.clock, kind=kind)

    def schedule_changed(self) -> None:
        if self.on_schedule_change is not None:
            self.on_schedule_change()

    def channel_feeds(self, channel: ChannelRef) -> list[tuple[int, str, str]]:
        """The channel's feeds as (id, name, url), for command autocomplete."""
        sub = self.store.subscription(channel)
        feeds = [] if sub is None else self.store.subscribed_feeds(sub.id)
        # a feed's own title can carry bidi and invisible characters: the choice list shows it made safe
        return [(f.id, safe_line(f.display_name), safe_line(f.url)) for f in feeds]

    def channel_follows(self, channel: ChannelRef) -> list[str]:
        """The channel's followed topics, for command autocomplete."""
        sub = self.store.subscription(channel)
        return [] if sub is None else list(sub.follows)

    def channel_manager(self, channel: ChannelRef) -> str | None:
        try:
            return self.store.channel_manager(channel)
        except Exception:  # asked while a post fails: that failure is what must be reported
            log.exception("could not look up who manages %s", channel)
            return None

    # --- entry points -----------------------------------------------------------------------

    async def handle_command(self, request: CommandRequest) -> Reply:
        return await self.router.handle(request)

    async def digest_all(self, subscription_ids: Iterable[int] | None = None) -> list[DigestOutcome]:
        wanted = set(subscription_ids) if subscription_ids is not None else None
        outcomes: list[DigestOutcome] = []
        for sub in self.store.subscriptions():
            if wanted is None or sub.id in wanted:
                outcomes += await self.digest_for(sub, "manual")
        return outcomes

    async def send_notices(self) -> int:
        """Post the queued feed trouble notices (paused, works again) through each channel's adapter.

        One notice is claimed at a time, under its own lease, so a long queue does not eat into
        later notices' leases (a single post slower than the lease may be posted twice). A refused
        post is tried again later (1, 2, 4 ... minutes, at most hourly); a notice the platform
        refuses for good, or one still unsaid after NOTICE_MAX_AGE, is dropped and logged.
        Returns how many were posted.
        """
        sent = 0
        while True:
            now = self.clock.now()
            lease_until = now + NOTICE_LEASE
            claimed = self.store.claim_notices(now, lease_until, list(self.adapters))
            if not claimed:
                return sent
            notice = claimed[0]
            try:
                await self.adapters[notice.channel.platform].post_notice(notice.channel, notice.text)
            except Exception as exc:  # one channel's trouble must not keep the others from being told
                error = str(exc) if isinstance(exc, PostError) else f"internal error: {exc!r}"
                if (isinstance(exc, PostError) and not exc.retryable) or now - notice.created_at >= NOTICE_MAX_AGE:
                    log.error("gave up telling %s that %s: %s", notice.channel, notice.text, error)
                    held = self.store.notice_done(notice.id, lease_until, self.clock.now(), sent=False, error=error)
                else:
                    backoff = timedelta(minutes=2 ** min(notice.attempts - 1, 6))  # 1, 2, 4 ... 64 minutes
                    retry = self.clock.now() + min(backoff, timedelta(hours=1))
                    log.warning("could not tell %s yet (%s); trying again at %s", notice.channel, error, retry)
                    held = self.store.notice_retry(notice.id, lease_until, retry, error)
            else:
                held = self.store.notice_done(notice.id, lease_until, self.clock.now(), sent=True)
                sent += 1
            if not held:
                log.warning("the notice to %s outlasted its lease; another process may post it again", notice.channel)


# A notice being posted is held this long; a process that dies meanwhile leaves it to the next.
NOTICE_LEASE = timedelta(minutes=5)
NOTICE_MAX_AGE = timedelta(days=1)  # past this, "feed X is paused" is news nobody needs


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
