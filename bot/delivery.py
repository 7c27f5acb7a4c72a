"""Post digests exactly once: claim, look at the platform where in doubt, post what is missing, record as it goes.

A digest is claimed with a short lease, renewed by a heartbeat while it posts, so two overlapping
triggers (or two workers) never post the same one, and a claim whose holder died (on this host:
its pid is gone) is taken over at once. Before each message its position is noted as in doubt;
a run that finds a position in doubt, or that loses a platform's answer, asks the platform what
it already shows (`ChatAdapter.find_posted`) and records that instead of posting it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Literal

from bot.config import DigestSettings
from bot.digest import load_digest, plan_digest
from bot.errors import NEEDS_MANAGER, PostError
from bot.isotime import iso_utc
from bot.models import ChannelRef, Digest, DigestRow, FoundPosts, PostedMessage, SubscriptionRow
from bot.ports import ChatAdapter, Clock, DeliveryStore
from bot.storage import Storage
from bot.worker import is_dead, new_owner

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)  # a dead worker elsewhere holds a digest this long at most
HEARTBEAT_SECONDS = 10.0  # renewals per lease: a slow post (a rate-limit wait) keeps its claim
RETRY_SOON = timedelta(minutes=2)  # the platform may recover (rate limit, outage)
RETRY_LATER = timedelta(hours=1)  # someone has to fix something (bot removed from the channel, bad token)
LOST_ANSWERS = 3  # posts of one message whose answer was lost (each followed by a look) before giving up
LOOK_DELAY_SECONDS = 2.0  # after a lost answer, give the platform a moment to finish storing before looking


OutcomeStatus = Literal["posted", "resumed", "empty", "busy", "failed", "no-adapter"]


@dataclass(frozen=True)
class DigestOutcome:
    """What happened for one channel: `stories` posted, or why nothing was."""

    channel: str
    status: OutcomeStatus
    stories: int = 0
    message: str = ""
    updates: int = 0  # follow-ups the digest carries (replies in earlier threads)


class LeaseLost(Exception):
    """Another worker took the digest over (our lease ran out): stop posting it."""


class _Heartbeat:
    """Renews the claim every HEARTBEAT_SECONDS while a digest is posted (off the loop)."""

    def __init__(self, storage: Storage[DeliveryStore], digest_id: int, owner: str, clock: Clock) -> None:
        self.storage, self.digest_id, self.owner, self.clock = storage, digest_id, owner, clock
        self.lost = False

    async def run(self) -> None:
        while not self.lost:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                until = self.clock.now() + LEASE
                ok = await self.storage.run(
                    lambda s: s.renew_claim(self.digest_id, self.owner, until), patience=HEARTBEAT_SECONDS / 2
                )
            except Exception as exc:  # the database is away for a moment: the next beat tries again
                log.warning("could not renew the claim on digest %s: %s", self.digest_id, exc)
                continue
            self.lost = not ok

    @classmethod
    @contextlib.asynccontextmanager
    async def beating(
        cls, storage: Storage[DeliveryStore], digest_id: int, owner: str, clock: Clock
    ) -> AsyncIterator[_Heartbeat]:
        beat = cls(storage, digest_id, owner, clock)
        task = asyncio.create_task(beat.run(), name=f"digest-{digest_id}-heartbeat")
        try:
            yield beat
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _Poster:
    """Posts one digest's missing messages; every send goes through `send`, the look-first path."""

    def __init__(
        self,
        storage: Storage[DeliveryStore],
        adapter: ChatAdapter,
        row: DigestRow,
        digest: Digest,
        clock: Clock,
        owner: str,
        beat: _Heartbeat,
    ) -> None:
        self.storage, self.adapter, self.row, self.digest = storage, adapter, row, digest
        self.clock, self.owner, self.beat = clock, owner, beat
        self.known = dict(row.posted)
        self.lost: set[int] = set()  # positions whose answer was lost in this run: in doubt for good

    async def record(self, position: int, msg: PostedMessage) -> None:
        now = self.clock.now()
        if not await self.storage.run(lambda s: s.record_posted(self.row.id, position, msg.ref, msg.thread_ref, now)):
            raise LeaseLost  # another run recorded this position first: stop, it carries on
        self.known[position] = msg

    async def look(self) -> FoundPosts:
        """What the platform shows of this digest; a PostError says it could not be read. Adapters pass
        over messages another digest recorded (`taken`), so a parent found is this digest's own."""
        try:
            found = await self.adapter.find_posted(
                self.digest.channel, self.digest, self.known.get(0), taken=self._taken
            )
        except PostError as exc:
            raise PostError(
                f"could not check what the channel already shows of this digest ({exc}); nothing is sent "
                "again until it can be checked",
                unknown=True,
                reason=exc.reason,
            ) from None
        return found

    async def _taken(self, ref: str) -> bool:
        return await self.storage.run(lambda s: s.message_recorded(ref))

    async def skip(self, position: int, why: str) -> None:
        """Record a position as skipped: nothing of it is posted, now or later."""
        now = self.clock.now()
        await self.storage.run(lambda s: s.record_posted(self.row.id, position, why[:500], None, now))

    async def clear_doubt(self, position: int) -> None:
        await self.storage.run(lambda s: s.clear_doubt(self.row.id, position))

    async def reconcile(self) -> None:
        """Record whatever the platform already shows that the last run did not record."""
        found = await self.look()
        if found.parent is not None and 0 not in self.known:
            log.warning(
                "digest %s: its parent message was already posted (%s); reusing it", self.row.id, found.parent.ref
            )
            await self.record(0, found.parent)
        for position, msg in sorted(found.stories.items()):
            if position not in self.known and 0 < position <= len(self.row.story_ids) + len(self.row.updates):
                log.warning(
                    "digest %s: story %d was already posted (%s); not posting it again", self.row.id, position, msg.ref
                )
                await self.record(position, msg)
        if self.row.in_doubt is not None and self.row.in_doubt not in self.known:
            await self.clear_doubt(self.row.in_doubt)  # looked: it is not there

    async def send(self, position: int, post: Callable[[], Awaitable[PostedMessage]], what: str) -> PostedMessage:
        """Post one message, exactly once: after a lost answer, look before posting again."""
        for _ in range(LOST_ANSWERS):
            until = self.clock.now() + LEASE
            if self.beat.lost or not await self.storage.run(
                lambda s: s.begin_post(self.row.id, self.owner, position, until)
            ):
                raise LeaseLost
            try:
                return await post()
            except PostError as exc:
                if not exc.unknown:
                    if position not in self.lost:
                        # refused: certainly not posted (unless an earlier try of this run lost its answer
                        # and the platform stored it after our look, so the next run must look again)
                        await self.clear_doubt(position)
                    raise
                self.lost.add(position)
                log.warning(
                    "digest %s: the answer to posting %s was lost (%s); looking before posting again",
                    self.row.id,
                    what,
                    exc,
                )
            await asyncio.sleep(LOOK_DELAY_SECONDS)
            found = await self.look()
            msg = found.parent if position == 0 else found.stories.get(position)
            if msg is not None:
                log.warning("digest %s: %s was posted after all (%s)", self.row.id, what, msg.ref)
                return msg
        raise PostError(
            f"{what}: the platform's answer was lost {LOST_ANSWERS} times; it was not found in the channel, "
            "and is looked for again before anything is sent",
            unknown=True,
        )


async def deliver(
    storage: Storage[DeliveryStore],
    adapter: ChatAdapter,
    row: DigestRow,
    digest: Digest,
    clock: Clock,
    owner: str,
    beat: _Heartbeat,
) -> int:
    """Post whatever of the digest is not posted yet; returns how many story messages it posted.

    Positions are the planned ones, whatever is left to show: a story whose articles are gone
    (its feed was removed) or that the platform refuses for good is recorded as skipped.
    """
    poster = _Poster(storage, adapter, row, digest, clock, owner, beat)
    if row.in_doubt is not None:
        # the last run died mid-post or lost an answer: what the platform shows decides
        await poster.reconcile()
    parent = poster.known.get(0)
    if parent is None:
        parent = await poster.send(0, partial(adapter.post_parent, digest.channel, digest), "the digest's parent")
        await poster.record(0, parent)
    views = {view.story_id: view for view in digest.stories}
    posted = 0
    for position, story_id in enumerate(row.story_ids, start=1):
        if position in poster.known:
            continue
        view = views.get(story_id)
        if view is None:
            await poster.skip(position, "skipped: its articles are gone")
            continue
        try:
            post = partial(adapter.post_story, digest.channel, digest, parent, view, position)
            msg = await poster.send(position, post, f"story {position}")
        except PostError as exc:
            if exc.retryable or position in poster.lost:
                raise _still_in_doubt(exc, position, poster) from None
            log.error("story %s of digest %s refused for good, skipped: %s", story_id, row.id, exc)
            await poster.skip(position, f"skipped: {exc}")
            continue
        await poster.record(position, msg)
        posted += 1
    await _deliver_updates(poster, digest)
    now = clock.now()
    await storage.run(lambda s: s.finish_digest(row.id, owner, now))
    return posted


def _still_in_doubt(exc: PostError, position: int, poster: _Poster) -> PostError:
    """A refusal after a lost answer of the same message is no proof it was never posted: never skip it
    (a skip record would clear the doubt); it stays pending and is looked for first next time."""
    if position not in poster.lost or exc.unknown:
        return exc
    return PostError(
        f"{exc}; an earlier try's answer was lost, so it is looked for before anything else",
        unknown=True,
        reason=exc.reason,
    )


async def _deliver_updates(poster: _Poster, digest: Digest) -> None:
    """The follow-ups, each a reply in its story's earlier thread, through the same look-first path."""
    row, adapter = poster.row, poster.adapter
    for update in digest.updates:
        if update.position in poster.known:
            continue
        try:
            post = partial(adapter.post_update, digest.channel, digest, update)
            msg = await poster.send(update.position, post, f"the update of story {update.story_id}")
        except PostError as exc:
            if exc.retryable or update.position in poster.lost:
                raise _still_in_doubt(exc, update.position, poster) from None
            # e.g. the earlier thread was deleted: the Developing line in the parent still tells it
            log.error("update of story %s in digest %s refused for good, skipped: %s", update.story_id, row.id, exc)
            await poster.skip(update.position, f"skipped: {exc}")
            continue
        await poster.record(update.position, msg)


async def run_digest(
    storage: Storage[DeliveryStore],
    adapters: Mapping[str, ChatAdapter],
    sub: SubscriptionRow,
    settings: DigestSettings,
    clock: Clock,
    scheduled_for: datetime | None = None,
    *,
    kind: str = "scheduled",
) -> list[DigestOutcome]:
    """Plan the digest for `scheduled_for` (default now), then post every pending digest in order."""
    channel = str(sub.channel)
    adapter = adapters.get(sub.channel.platform)
    if adapter is None:
        return [DigestOutcome(channel, "no-adapter", message=f"the {sub.channel.platform} adapter is not enabled")]
    slot = scheduled_for or clock.now()
    now = clock.now()

    def plan(store: DeliveryStore) -> tuple[int | None, DigestRow | None]:
        digest_id = plan_digest(store, sub, settings, slot, now, kind=kind)
        return digest_id, store.digest(digest_id) if digest_id is not None else None

    digest_id, planned = await storage.run(plan)
    outcomes = await post_pending(storage, adapter, sub, settings, clock, new_id=digest_id)
    if planned is not None and not planned.story_ids and not planned.updates:
        outcomes.append(await _empty(storage, adapter, sub, settings, planned, slot, clock))
    elif planned is None and not outcomes:
        outcomes.append(DigestOutcome(channel, "empty", message="this slot's digest was already made"))
    return outcomes


async def post_pending(
    storage: Storage[DeliveryStore],
    adapter: ChatAdapter,
    sub: SubscriptionRow,
    settings: DigestSettings,
    clock: Clock,
    new_id: int | None = None,
) -> list[DigestOutcome]:
    """Post the channel's pending digests, oldest first; stop at the first the platform refuses."""
    outcomes = []
    for row in await storage.run(lambda s: s.pending_digests(sub.id)):
        # "resumed" means finishing what an earlier run began; a digest a concurrent trigger planned a
        # moment ago, untouched since, is simply posted
        untouched = not row.posted and row.in_doubt is None and row.last_error is None and row.claimed_by is None
        fresh = row.id == new_id or untouched
        outcome = await _post(storage, adapter, row, sub, settings, clock, "posted" if fresh else "resumed")
        outcomes.append(outcome)
        if outcome.status == "failed":
            break
    return outcomes


async def _empty(
    storage: Storage[DeliveryStore],
    adapter: ChatAdapter,
    sub: SubscriptionRow,
    settings: DigestSettings,
    planned: DigestRow,
    slot: datetime,
    clock: Clock,
) -> DigestOutcome:
    channel = str(sub.channel)
    last = await storage.run(lambda s: s.last_digest_at(sub.id, before=slot))
    message = "nothing new since the last digest" + (f" ({iso_utc(last)})" if last else "")
    if sub.no_news_line:
        try:
            digest = await storage.run(lambda s: load_digest(s, planned, sub, settings))
            await adapter.post_parent(sub.channel, digest)
        except PostError as exc:
            log.error("could not post the no-news line to %s: %s", channel, exc)
            await tell_manager(storage, sub.channel, exc, clock.now(), what="the no-news line")
            return DigestOutcome(channel, "failed", message=f"could not post the no-news line: {exc}")
    return DigestOutcome(channel, "empty", message=message)


async def _post(
    storage: Storage[DeliveryStore],
    adapter: ChatAdapter,
    row: DigestRow,
    sub: SubscriptionRow,
    settings: DigestSettings,
    clock: Clock,
    status: OutcomeStatus,
) -> DigestOutcome:
    channel = str(sub.channel)
    owner = new_owner()
    now = clock.now()
    holder = row.claimed_by
    # a holder on this host whose process is gone (a crash, kill -9) cannot be posting: take over now
    take_from = holder if holder and row.claimed_until and row.claimed_until > now and is_dead(holder) else None
    if not await storage.run(lambda s: s.claim_digest(row.id, owner, now, now + LEASE, take_from=take_from)):
        current = await storage.run(lambda s: s.digest(row.id))
        return DigestOutcome(channel, "busy", message=_busy(current or row, now))
    if take_from is not None:
        log.warning("digest %s for %s: took it over from %s, which no longer runs", row.id, channel, take_from)
    try:

        def load(store: DeliveryStore) -> tuple[DigestRow, Digest]:
            fresh = store.digest(row.id) or row  # what was posted may have changed before the claim
            return fresh, load_digest(store, fresh, sub, settings)

        fresh, digest = await storage.run(load)
        async with _Heartbeat.beating(storage, row.id, owner, clock) as beat:
            count = await deliver(storage, adapter, fresh, digest, clock, owner, beat)
    except LeaseLost:
        return DigestOutcome(channel, "busy", message="another run took this digest over")
    except PostError as exc:
        retry = clock.now() + (RETRY_SOON if exc.retryable else RETRY_LATER)
        error = str(exc)
        await storage.run(lambda s: s.release_digest(row.id, owner, retry_at=retry, error=error))
        log.error("digest %s for %s stays pending (retry after %s): %s", row.id, channel, retry.isoformat(), exc)
        await tell_manager(storage, sub.channel, exc, clock.now())
        return DigestOutcome(channel, "failed", message=f"{exc} (the digest stays pending)")
    except BaseException:
        # the claim goes back even when the run is cancelled mid-post (SIGTERM's last resort)
        await asyncio.shield(storage.run(lambda s: s.release_digest(row.id, owner)))
        raise
    return DigestOutcome(channel, status, stories=count, updates=len(fresh.updates))


async def tell_manager(
    storage: Storage[DeliveryStore], channel: ChannelRef, exc: PostError, now: datetime, *, what: str = ""
) -> None:
    """When a person must fix the channel (exc.reason in NEEDS_MANAGER), queue a DM to whoever last
    changed its news: once per channel and problem until a digest there posts again, kept in the
    database (bot.store.notices), so neither a restart nor a second process tells them twice.
    DeliveryService sends it right after the run."""
    if exc.reason not in NEEDS_MANAGER:
        return
    problem = str(exc).removeprefix(f"{channel.platform}: ")
    if what:
        text = f"newsbot could not post {what} in {channel}: {problem}."
    else:
        text = (
            f"newsbot could not post the news digest in {channel}: {problem}. "
            "Nothing is lost: the digest stays pending and is posted once this is fixed."
        )
    reason = exc.reason
    try:
        told = await storage.run(lambda s: s.queue_manager_notice(channel, reason, text, now))
    except Exception as exc2:  # telling is a courtesy: the digest's own state is already saved
        log.warning("could not queue the note to %s's manager: %s", channel, exc2)
        return
    if told is not None:
        log.info("%s: telling %s (who last changed its news) by DM: %s", channel, told, reason)


def _busy(row: DigestRow, now: datetime) -> str:
    if row.claimed_by is None and row.claimed_until is not None and row.claimed_until > now:
        why = f": {row.last_error}" if row.last_error else ""
        return f"this digest waits to retry after {row.claimed_until:%H:%M:%S} UTC{why}"
    holder = (row.claimed_by or "another run").rsplit(":", 2)[0]
    return f"another run ({holder}) is posting this digest right now"
