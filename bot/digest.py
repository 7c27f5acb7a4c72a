"""Digests: pick and rank a channel's new stories, then post them exactly once.

A digest row is keyed by (subscription, scheduled time) and lists its stories in
order; each message posted is recorded as it goes, so a crash or a platform error
leaves the digest pending and the next run posts only what is missing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.config import DigestSettings
from bot.errors import PostError
from bot.models import Digest, DigestStory, KeyEntity, PostedMessage
from bot.nlp.highlight import highlight
from bot.ports import ChatAdapter, Clock
from bot.store.store import DigestRow, Store, StoredArticle, SubscriptionRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestOutcome:
    """What happened for one channel: `posted` stories, or why nothing was."""

    channel: str
    status: str  # posted | resumed | empty | failed | no-adapter
    stories: int = 0
    message: str = ""


def plan_digest(
    store: Store, sub: SubscriptionRow, settings: DigestSettings, scheduled_for: datetime, now: datetime
) -> int | None:
    """Record the digest for this slot with its ranked stories; None if the slot is taken."""
    candidates = store.undigested_stories(sub.id)
    # more sources first (a story many outlets carry matters more), then the newest
    candidates.sort(key=lambda c: (-c[1], -c[2].timestamp(), -c[0]))
    cap = sub.max_stories or settings.max_stories
    return store.create_digest(sub.id, scheduled_for, settings.title, [c[0] for c in candidates[:cap]], now)


def merged_entities(articles: Sequence[StoredArticle]) -> list[KeyEntity]:
    """One ranked list for a story: an entity named by several articles counts once, at its best."""
    best: dict[str, KeyEntity] = {}
    for article in articles:
        for e in article.entities:
            ent = KeyEntity(
                text=e["text"],
                label=e["label"],
                salience=float(e["salience"]),
                mentions=int(e.get("mentions", 1)),
                aliases=tuple(e.get("aliases", ())),
            )
            have = best.get(ent.text)
            if have is None or ent.salience > have.salience:
                aliases = tuple(dict.fromkeys((*ent.aliases, *(have.aliases if have else ()))))
                best[ent.text] = KeyEntity(ent.text, ent.label, ent.salience, ent.mentions, aliases)
    return sorted(best.values(), key=lambda k: -k.salience)


def story_view(story_id: int, articles: Sequence[StoredArticle], settings: DigestSettings) -> DigestStory:
    """How one story reads in a digest: its most complete article, highlighted, with its other sources."""
    rep = max(articles, key=lambda a: (len(a.text), -a.id))
    summary = " ".join(rep.summary) or rep.title
    ranked = merged_entities(articles)
    keys, spans = highlight(summary, ranked, limit=settings.key_entities)
    # the headline shows the same key entities, never others
    _, title_spans = highlight(rep.title, [k for k in ranked if k.text in keys], limit=len(keys))
    others = tuple(dict.fromkeys(a.source for a in articles if a.source != rep.source))
    return DigestStory(
        story_id=story_id,
        title=rep.title,
        url=rep.url,
        source=rep.source,
        summary=summary,
        highlights=tuple(spans),
        key_entities=tuple(keys),
        also_covered_by=others,
        published=rep.published_at,
        title_highlights=tuple(title_spans),
    )


def load_digest(store: Store, row: DigestRow, sub: SubscriptionRow, settings: DigestSettings) -> Digest:
    by_story = store.story_articles(row.story_ids)
    views = tuple(story_view(sid, by_story[sid], settings) for sid in row.story_ids if by_story.get(sid))
    counts = Counter(name for v in views for name in v.key_entities)
    top = tuple(name for name, _ in counts.most_common(5))
    return Digest(
        digest_id=row.id,
        channel=sub.channel,
        title=row.title,
        scheduled_for=row.scheduled_for,
        stories=views,
        top_entities=top,
        timezone=sub.timezone,
    )


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
) -> list[DigestOutcome]:
    """Finish the channel's pending digests, then build and post the one for `scheduled_for` (default now)."""
    channel = str(sub.channel)
    adapter = adapters.get(sub.channel.platform)
    if adapter is None:
        return [DigestOutcome(channel, "no-adapter", message=f"the {sub.channel.platform} adapter is not enabled")]
    outcomes = []
    for row in store.pending_digests(sub.id):
        outcomes.append(await _post(store, adapter, row, sub, settings, clock, "resumed"))
        if outcomes[-1].status == "failed":
            return outcomes  # the platform is refusing: keep the new slot for when it recovers
    slot = scheduled_for or clock.now()
    digest_id = plan_digest(store, sub, settings, slot, clock.now())
    new = store.digest(digest_id) if digest_id is not None else None
    if new is None:
        outcomes.append(DigestOutcome(channel, "empty", message="this slot's digest was already made"))
    elif not new.story_ids:
        outcomes.append(DigestOutcome(channel, "empty", message="nothing new since the last digest"))
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
    digest = load_digest(store, row, sub, settings)
    try:
        count = await deliver(store, adapter, row, digest, clock)
    except PostError as exc:
        store.digest_failed(row.id, str(exc))
        log.error("digest %s for %s stays pending: %s", row.id, sub.channel, exc)
        return DigestOutcome(str(sub.channel), "failed", message=f"{exc} (the digest stays pending)")
    return DigestOutcome(str(sub.channel), status, stories=count)
