"""The delivery service: a channel's digests planned and posted (exactly once, by bot.delivery),
digests left pending finished, and the notices outbox emptied through each channel's adapter.

This is the one place that wires a subscription to its adapter and to `run_digest`; the router, the
scheduler and the CLI all post through it. Every database step is a unit of work on the storage
thread (bot.storage), so posting never blocks the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from bot.config import DigestSettings
from bot.delivery import DigestOutcome, post_pending, run_digest
from bot.errors import PostError
from bot.models import NoticeRow, SubscriptionRow
from bot.ports import ChatAdapter, Clock, DeliveryStore
from bot.storage import Storage
from bot.worker import is_dead

log = logging.getLogger(__name__)

# A notice being posted is held this long; a process that dies meanwhile leaves it to the next.
NOTICE_LEASE = timedelta(minutes=5)
NOTICE_MAX_AGE = timedelta(days=1)  # past this, "feed X is paused" is news nobody needs


class DeliveryService:
    def __init__(
        self,
        storage: Storage[DeliveryStore],
        adapters: Mapping[str, ChatAdapter],
        settings: DigestSettings,
        clock: Clock,
    ) -> None:
        self.storage = storage
        self.adapters = adapters
        self.settings = settings
        self.clock = clock

    async def digest_for(
        self, sub: SubscriptionRow, kind: str = "scheduled", slot: datetime | None = None
    ) -> list[DigestOutcome]:
        """Plan the channel's digest for `slot` (default now) and post whatever of it, and of earlier
        ones, is pending."""
        outcomes = await run_digest(self.storage, self.adapters, sub, self.settings, self.clock, slot, kind=kind)
        await self._tell_failures(outcomes)
        return outcomes

    async def _tell_failures(self, outcomes: Iterable[DigestOutcome]) -> None:
        """A failed post may have queued a DM to the channel's manager: send it in the same run."""
        if any(o.status == "failed" for o in outcomes):
            try:
                await self.send_notices()
            except Exception as exc:  # the outbox keeps it for the next run's send_notices
                log.warning("could not send the notices queued by a failed digest yet: %s", exc)

    async def digest_all(self, subscription_ids: Iterable[int] | None = None) -> list[DigestOutcome]:
        wanted = set(subscription_ids) if subscription_ids is not None else None
        outcomes: list[DigestOutcome] = []
        for sub in await self.storage.run(lambda s: s.subscriptions()):
            if wanted is None or sub.id in wanted:
                outcomes += await self.digest_for(sub, "manual")
        return outcomes

    async def post_slot(self, sub: SubscriptionRow, slot: datetime) -> list[DigestOutcome]:
        """A scheduled digest: the one for this slot, logged."""
        outcomes = await self.digest_for(sub, "scheduled", slot)
        for o in outcomes:
            log.info("digest for %s at %s: %s %s %s", o.channel, slot.isoformat(), o.status, o.stories, o.message)
        return outcomes

    async def finish_pending(self) -> int:
        """Post digests left pending by a crash or a platform error, once their retry time has come."""
        finished = 0
        now = self.clock.now()
        outcomes: list[DigestOutcome] = []
        # a digest whose holder died on this host is taken over now, not when its lease runs out
        for sub_id in await self.storage.run(lambda s: s.claimable_subscriptions(now, dead=is_dead)):
            sub = await self.storage.run(lambda s: s.subscription_by_id(sub_id))
            adapter = self.adapters.get(sub.channel.platform) if sub else None
            if sub is None or adapter is None:
                continue
            for o in await post_pending(self.storage, adapter, sub, self.settings, self.clock):
                log.info("pending digest for %s: %s %s %s", o.channel, o.status, o.stories, o.message)
                finished += o.status == "resumed"
                outcomes.append(o)
        await self._tell_failures(outcomes)
        return finished

    async def send_notices(self) -> int:
        """Post the queued notices through each channel's adapter: feed trouble (paused, works again)
        in the channel, and posting trouble by DM to the channel's manager (`post_direct`).

        One notice is claimed at a time, under its own lease, so a long queue does not eat into
        later notices' leases (a single post slower than the lease may be posted twice). A refused
        post is tried again later (1, 2, 4 ... minutes, at most hourly); a notice the platform
        refuses for good, or one still unsaid after NOTICE_MAX_AGE, is dropped and logged.
        Returns how many were posted.
        """
        sent = 0
        platforms = list(self.adapters)
        while True:
            now = self.clock.now()
            lease_until = now + NOTICE_LEASE
            claimed = await self.storage.run(lambda s: s.claim_notices(now, lease_until, platforms))
            if not claimed:
                return sent
            notice = claimed[0]
            try:
                adapter = self.adapters[notice.channel.platform]
                if notice.recipient is not None:
                    await adapter.post_direct(notice.channel, notice.recipient, notice.text)
                else:
                    await adapter.post_notice(notice.channel, notice.text)
            except Exception as exc:  # one channel's trouble must not keep the others from being told
                error = str(exc) if isinstance(exc, PostError) else f"internal error: {exc!r}"
                if (isinstance(exc, PostError) and not exc.retryable) or now - notice.created_at >= NOTICE_MAX_AGE:
                    log.error("gave up telling %s that %s: %s", _whom(notice), notice.text, error)
                    done = self.clock.now()
                    held = await self.storage.run(
                        lambda s: s.notice_done(notice.id, lease_until, done, sent=False, error=error)
                    )
                else:
                    backoff = timedelta(minutes=2 ** min(notice.attempts - 1, 6))  # 1, 2, 4 ... 64 minutes
                    retry = self.clock.now() + min(backoff, timedelta(hours=1))
                    log.warning("could not tell %s yet (%s); trying again at %s", _whom(notice), error, retry)
                    held = await self.storage.run(lambda s: s.notice_retry(notice.id, lease_until, retry, error))
            else:
                done = self.clock.now()
                held = await self.storage.run(lambda s: s.notice_done(notice.id, lease_until, done, sent=True))
                sent += 1
            if not held:
                log.warning("the notice to %s outlasted its lease; another process may post it again", notice.channel)


def _whom(notice: NoticeRow) -> str:
    return f"user {notice.recipient} (about {notice.channel})" if notice.recipient else str(notice.channel)
