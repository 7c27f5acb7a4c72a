"""Post digests exactly once: claim, post what is missing, record each message as it goes.

A digest is claimed with a lease before posting, so two overlapping triggers (or two
workers) never post the same one; a crash or a platform error leaves it pending and the
next run continues the same thread with the missing stories only.
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

LEASE = timedelta(minutes=15)
WORKER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class DigestOutcome:
    """What happened for one channel: `stories` posted, or why nothing was."""

    channel: str
    status: str  # posted | resumed | empty | busy | failed | no-adapter
    stories: int = 0
    message: str = ""


async def deliver(store: Store, adapter: ChatAdapter, row: DigestRow, digest: Digest, clock: Clock) -> int:
    """Post whatever of the digest is not posted yet; returns how many story messages it posted."""
    if 0 in row.posted:
        ref, thread = row.posted[0]
        parent = PostedMessage(ref, thread)
    else:
        parent = await adapter.post_parent(digest.channel, digest)
        store.record_posted(row.id, 0, parent.ref, parent.thread_ref, clock.now())
    posted = 0
    for position, story in enumerate(digest.stories, start=1):
        if position in row.posted:
            continue
        msg = await adapter.post_story(digest.channel, digest, parent, story, position)
        store.record_posted(row.id, position, msg.ref, msg.thread_ref, clock.now())
        posted += 1
    store.finish_digest(row.id, clock.now())
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
    """Finish the channel's pending digests, then build and post the one for `scheduled_for` (default now)."""
    channel = str(sub.channel)
    adapter = adapters.get(sub.channel.platform)
    if adapter is None:
        return [DigestOutcome(channel, "no-adapter", message=f"the {sub.channel.platform} adapter is not enabled")]
    outcomes = []
    for row in store.pending_digests(sub.id):
        outcomes.append(await _post(store, adapter, row, sub, settings, clock, "resumed"))
        if outcomes[-1].status in ("failed", "busy"):
            return outcomes  # keep the new slot for when the platform (or the other worker) is done
    slot = scheduled_for or clock.now()
    digest_id = plan_digest(store, sub, settings, slot, clock.now(), kind=kind)
    new = store.digest(digest_id) if digest_id is not None else None
    if new is None:
        outcomes.append(DigestOutcome(channel, "empty", message="this slot's digest was already made"))
    elif not new.story_ids:
        if sub.no_news_line:
            digest = load_digest(store, new, sub, settings)
            await adapter.post_parent(sub.channel, digest)
        last = store.last_digest_at(sub.id)
        outcomes.append(
            DigestOutcome(
                channel,
                "empty",
                message="nothing new since the last digest"
                + (f" ({last:%Y-%m-%d %H:%M} UTC)" if last and last < slot else ""),
            )
        )
    else:
        outcomes.append(await _post(store, adapter, new, sub, settings, clock, "posted"))
    return outcomes


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
        return DigestOutcome(channel, "busy", message="another run is posting this digest right now")
    try:
        fresh = store.digest(row.id) or row  # what was posted may have changed before the claim
        count = await deliver(store, adapter, fresh, load_digest(store, fresh, sub, settings), clock)
    except PostError as exc:
        store.digest_failed(row.id, str(exc))
        store.release_digest(row.id, owner)
        log.error("digest %s for %s stays pending: %s", row.id, sub.channel, exc)
        return DigestOutcome(channel, "failed", message=f"{exc} (the digest stays pending)")
    except BaseException:
        store.release_digest(row.id, owner)
        raise
    return DigestOutcome(channel, status, stories=count)
