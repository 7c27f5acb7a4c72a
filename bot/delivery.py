"""Post digests exactly once: claim, post what is missing, record each message as it goes.

A digest is claimed with a lease that is renewed before every message, so two overlapping
triggers (or two workers) never post the same one. A crash or a platform error leaves it
pending; the next run, or the minute job that finishes pending digests, continues the same
thread with the missing stories only.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import DigestSettings
from bot.digest import load_digest, plan_digest
from bot.errors import PostError
from bot.models import Digest, PostedMessage
from bot.ports import ChatAdapter, Clock
from bot.store.store import DigestRow, Store, SubscriptionRow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # renewed before every message; longer than any single post may wait
RETRY_SOON = timedelta(minutes=2)  # the platform may recover (rate limit, outage)
RETRY_LATER = timedelta(hours=1)  # someone has to fix something (bot removed from the channel, bad token)
WORKER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class DigestOutcome:
    """What happened for one channel: `stories` posted, or why nothing was."""

    channel: str
    status: str  # posted | resumed | empty | busy | failed | no-adapter
    stories: int = 0
    message: str = ""


class LeaseLost(Exception):
    """Another worker took the digest over (our lease ran out): stop posting it."""


async def deliver(store: Store, adapter: ChatAdapter, row: DigestRow, digest: Digest, clock: Clock, owner: str) -> int:
    """Post whatever of the digest is not posted yet; returns how many story messages it posted.

    Positions are the planned ones, whatever is left to show: a story whose articles are gone
    (its feed was removed) or that the platform refuses for good is recorded as skipped.
    """
    if 0 in row.posted:
        ref, thread = row.posted[0]
        parent = PostedMessage(ref, thread)
    else:
        parent = await adapter.post_parent(digest.channel, digest)
        store.record_posted(row.id, 0, parent.ref, parent.thread_ref, clock.now())
    views = {view.story_id: view for view in digest.stories}
    posted = 0
    for position, story_id in enumerate(row.story_ids, start=1):
        if position in row.posted:
            continue
        view = views.get(story_id)
        if view is None:
            store.record_posted(row.id, position, "skipped: its articles are gone", None, clock.now())
            continue
        if not store.renew_claim(row.id, owner, clock.now() + LEASE):
            raise LeaseLost
        try:
            msg = await adapter.post_story(digest.channel, digest, parent, view, position)
        except PostError as exc:
            if exc.retryable:
                raise
            log.error("story %s of digest %s refused for good, skipped: %s", story_id, row.id, exc)
            store.record_posted(row.id, position, f"skipped: {exc}"[:500], None, clock.now())
            continue
        if not store.record_posted(row.id, position, msg.ref, msg.thread_ref, clock.now()):
            raise LeaseLost  # another run recorded this position first: stop, it carries on
        posted += 1
    store.finish_digest(row.id, owner, clock.now())
    return posted


async def run_digest(
    store: Store,
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
    digest_id = plan_digest(store, sub, settings, slot, clock.now(), kind=kind)
    planned = store.digest(digest_id) if digest_id is not None else None
    outcomes = await post_pending(store, adapter, sub, settings, clock, new_id=digest_id)
    if planned is not None and not planned.story_ids:
        outcomes.append(await _empty(store, adapter, sub, settings, planned, slot))
    elif planned is None and not outcomes:
        outcomes.append(DigestOutcome(channel, "empty", message="this slot's digest was already made"))
    return outcomes


async def post_pending(
    store: Store,
    adapter: ChatAdapter,
    sub: SubscriptionRow,
    settings: DigestSettings,
    clock: Clock,
    new_id: int | None = None,
) -> list[DigestOutcome]:
    """Post the channel's pending digests, oldest first; stop at the first the platform refuses."""
    outcomes = []
    for row in store.pending_digests(sub.id):
        outcome = await _post(store, adapter, row, sub, settings, clock, "posted" if row.id == new_id else "resumed")
        outcomes.append(outcome)
        if outcome.status == "failed":
            break
    return outcomes


async def _empty(
    store: Store,
    adapter: ChatAdapter,
    sub: SubscriptionRow,
    settings: DigestSettings,
    planned: DigestRow,
    slot: datetime,
) -> DigestOutcome:
    channel = str(sub.channel)
    last = store.last_digest_at(sub.id, before=slot)
    message = "nothing new since the last digest" + (f" ({last:%Y-%m-%d %H:%M} UTC)" if last else "")
    if sub.no_news_line:
        try:
            await adapter.post_parent(sub.channel, load_digest(store, planned, sub, settings))
        except PostError as exc:
            log.error("could not post the no-news line to %s: %s", channel, exc)
            return DigestOutcome(channel, "failed", message=f"could not post the no-news line: {exc}")
    return DigestOutcome(channel, "empty", message=message)


async def _post(
    store: Store,
    adapter: ChatAdapter,
    row: DigestRow,
    sub: SubscriptionRow,
    settings: DigestSettings,
    clock: Clock,
    status: str,
) -> DigestOutcome:
    channel = str(sub.channel)
    # one token per attempt: two triggers in one process must exclude each other too
    owner = f"{WORKER}:{uuid.uuid4().hex[:8]}"
    if not store.claim_digest(row.id, owner, clock.now(), clock.now() + LEASE):
        return DigestOutcome(channel, "busy", message="another run is posting this digest, or it waits to retry")
    try:
        fresh = store.digest(row.id) or row  # what was posted may have changed before the claim
        count = await deliver(store, adapter, fresh, load_digest(store, fresh, sub, settings), clock, owner)
    except LeaseLost:
        return DigestOutcome(channel, "busy", message="another run took this digest over")
    except PostError as exc:
        retry = clock.now() + (RETRY_SOON if exc.retryable else RETRY_LATER)
        store.release_digest(row.id, owner, retry_at=retry, error=str(exc))
        log.error("digest %s for %s stays pending (retry after %s): %s", row.id, channel, retry.isoformat(), exc)
        return DigestOutcome(channel, "failed", message=f"{exc} (the digest stays pending)")
    except BaseException:
        store.release_digest(row.id, owner)
        raise
    return DigestOutcome(channel, status, stories=count)
