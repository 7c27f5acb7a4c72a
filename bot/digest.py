"""Digests: pick and rank a channel's new stories, and turn stored stories into digest views.

Planning records the digest for a (subscription, time) slot with its stories in order;
bot.delivery posts it. No markup here: adapters render the views. Each function here is (part of)
one unit of work over the DigestStore port, run on the storage thread (bot.storage).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot import followups
from bot.config import DigestSettings
from bot.models import (
    Digest,
    DigestRow,
    DigestStory,
    DigestUpdate,
    KeyEntity,
    PostedMessage,
    StoredArticle,
    SubscriptionRow,
)
from bot.ports import DigestStore
from bot.ranking import rank
from bot.text_safety import safe_line

STORY_MAX_AGE = timedelta(days=7)
MAX_UPDATES = 3  # follow-ups per digest: the Developing section stays short


def settle_backlog(
    store: DigestStore, sub: SubscriptionRow, settings: DigestSettings, slot: datetime, now: datetime
) -> int:
    """For feeds newly followed by the channel, count all but the newest few items as seen.

    The newest few are counted among the stories the channel does not get anyway (from a feed it
    already follows, or a new feed before this one); a story any of them brings is never set aside.
    Returns how many stories were set aside. A feed that has not been fetched successfully yet
    stays unsettled, so its first items are judged by the same rule when they arrive.
    """
    unsettled = store.feeds(store.unsettled_feeds(sub.id))
    if not unsettled:
        return 0
    # a story the channel gets anyway (from a feed it already follows, or among the newest few of
    # another new feed) is never set aside because an overlapping feed lists it among its old items
    settled_before = [f for f in store.subscribed_feed_ids(sub.id) if f not in {u.id for u in unsettled}]
    kept = {c[0] for c in store.undigested_stories(sub.id, feed_ids=settled_before)} if settled_before else set()
    settled: list[int] = []
    older: list[int] = []
    for feed in unsettled:
        stories = sorted(store.undigested_stories(sub.id, feed.id), key=lambda c: (-c[2].timestamp(), -c[0]))
        if not stories and feed.last_status not in (200, 304):
            continue
        settled.append(feed.id)
        # its newest few stories the channel does not get from another feed: a feed that shares
        # much with another (a publisher's section feeds) still brings news of its own
        own = [c[0] for c in stories if c[0] not in kept]
        kept.update(own[: settings.first_items])
        older += own[settings.first_items :]
    skipped = [sid for sid in dict.fromkeys(older) if sid not in kept]
    if settled:
        store.settle_backlog(sub.id, settled, skipped, slot, now)
    return len(skipped)


def matches_follow(articles: Sequence[StoredArticle], follows: Sequence[str]) -> bool:
    """True when a followed entity or keyword is among the story's entities, title or summary."""
    if not follows:
        return False
    names = {str(n).casefold() for a in articles for e in a.entities for n in (e["text"], *e.get("aliases", ()))}
    text = " ".join(f"{a.title} {' '.join(a.summary)}" for a in articles).casefold()
    return any(f.casefold() in names or f.casefold() in text for f in follows)


def plan_digest(
    store: DigestStore,
    sub: SubscriptionRow,
    settings: DigestSettings,
    scheduled_for: datetime,
    now: datetime,
    *,
    kind: str = "scheduled",
) -> int | None:
    """Record the digest for this slot with its ranked stories; None if the slot is taken."""
    settle_backlog(store, sub, settings, scheduled_for, now)
    # stories nobody touched for a week are not news any more, whatever was filtered before
    candidates = store.undigested_stories(
        sub.id, since=now - max(STORY_MAX_AGE, timedelta(hours=settings.cluster_hours))
    )
    by_story = store.story_articles([c[0] for c in candidates])
    followed: set[int] = set()
    if sub.follows:
        followed = {sid for sid, arts in by_story.items() if matches_follow(arts, sub.follows)}
        if sub.follow_only:
            candidates = [c for c in candidates if c[0] in followed]
    # followed topics first, then stories with words to show, many outlets, dated, the newest
    ranked = rank(candidates, by_story, followed)
    cap = sub.max_stories or settings.max_stories
    wanted = settings.updates if sub.updates is None else sub.updates
    updates = plan_followups(store, sub, settings, now) if wanted else []
    return store.create_digest(sub.id, scheduled_for, settings.title, ranked[:cap], now, kind=kind, updates=updates)


def plan_followups(
    store: DigestStore, sub: SubscriptionRow, settings: DigestSettings, now: datetime
) -> list[tuple[int, dict[str, object]]]:
    """The follow-ups worth telling in this digest, as (story id, what the update posts), at most
    MAX_UPDATES, followed topics first. What they say is fixed here, so a resume posts the same."""
    told = store.told_stories(sub.id, since=now - STORY_MAX_AGE)
    if not told:
        return []
    from bot.clustering import representative  # see story_view

    by_story = store.story_articles([t.story_id for t in told])
    mine = set(store.subscribed_feed_ids(sub.id))
    # an article counts for every feed that lists it, not only the one that fetched it first
    carriers = store.feeds_carrying([a.id for arts in by_story.values() for a in arts])
    found: list[tuple[tuple[bool, int, int], int, dict[str, object]]] = []
    for t in told:
        known, new = followups.split_known_new(by_story.get(t.story_id, []), t.told_at)
        new = [a for a in new if (carriers.get(a.id) or {a.feed_id}) & mine]  # its own feeds', not others'
        update = followups.detect(t.story_id, known, new, earlier=t.earlier, follows=sub.follows)
        if update is None:
            continue
        shown = representative(known, settings.prefer_sources)
        followed = matches_follow(new, sub.follows)
        detail: dict[str, object] = {
            "articles": list(update.article_ids),
            "sentences": list(update.sentences),
            "facts": list(update.facts),
            "outlets": list(update.outlets),
            "title": shown.title,
            "url": shown.url,
            "reply_to": {"ref": t.ref, "thread_ref": t.thread_ref},
            "told_at": t.told_at.isoformat(),
            "sources": [[a.source, a.url] for a in new if a.id in update.article_ids and a.source in update.outlets],
        }
        found.append(((not followed, -len(update.facts), -len(update.outlets)), t.story_id, detail))
    found.sort(key=lambda f: (f[0], f[1]))
    return [(sid, detail) for _, sid, detail in found[:MAX_UPDATES]]


def update_view(position: int, story_id: int, detail: dict[str, object]) -> DigestUpdate:
    """A planned follow-up as the adapters read it."""
    reply = detail.get("reply_to")
    ref = reply if isinstance(reply, dict) else {}
    told = detail.get("told_at")
    return DigestUpdate(
        story_id=story_id,
        position=position,
        title=str(detail.get("title") or ""),
        url=str(detail["url"]) if detail.get("url") else None,
        sentences=tuple(str(x) for x in _items(detail.get("sentences"))),
        facts=tuple(str(x) for x in _items(detail.get("facts"))),
        outlets=tuple(str(x) for x in _items(detail.get("outlets"))),
        reply_to=PostedMessage(str(ref.get("ref") or ""), str(ref["thread_ref"]) if ref.get("thread_ref") else None),
        told_at=datetime.fromisoformat(told) if isinstance(told, str) else None,
        sources=tuple(
            (str(x[0]), str(x[1]) if x[1] else None)
            for x in _items(detail.get("sources"))
            if isinstance(x, list) and len(x) == 2
        ),
    )


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


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


def story_view(
    story_id: int, articles: Sequence[StoredArticle], settings: DigestSettings, sentences: int | None = None
) -> DigestStory:
    """How one story reads: its most complete article, at most `sentences` long, highlighted, with its other sources."""
    # here, not at the top: a run with nothing to post (most cron runs) never loads the NLP modules
    from bot.clustering import representative
    from bot.nlp.highlight import highlight

    rep = representative(articles, settings.prefer_sources)
    # made safe here, before highlighting, so the spans index the text adapters are given
    # (rows stored before ingest cleaned text this way still render safely)
    title = safe_line(rep.title)
    summary = safe_line(summary_text(rep, sentences or settings.summary_sentences))
    ranked = merged_entities(articles)
    keys, spans = highlight(summary, ranked, limit=settings.key_entities)
    # the headline shows the same key entities, never others
    _, title_spans = highlight(title, [k for k in ranked if k.text in keys], limit=len(keys))
    source = safe_line(rep.source)
    others = tuple(dict.fromkeys(safe_line(a.source) for a in articles if safe_line(a.source) != source))
    return DigestStory(
        story_id=story_id,
        title=title,
        url=rep.url,
        source=source,
        summary=summary,
        highlights=tuple(spans),
        key_entities=tuple(keys),
        also_covered_by=others,
        published=rep.published_at,
        title_highlights=tuple(title_spans),
    )


def summary_text(article: StoredArticle, sentences: int) -> str:
    """The article's first `sentences` summary sentences; nothing when it has none, rather than its
    headline again (the headline is shown above it already)."""
    text = " ".join(article.summary[:sentences])
    return "" if _words(text) <= _words(article.title) else text


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[^\W_]+", text.casefold())}


def load_digest(store: DigestStore, row: DigestRow, sub: SubscriptionRow, settings: DigestSettings) -> Digest:
    by_story = store.story_articles(row.story_ids)
    views = tuple(
        story_view(sid, by_story[sid], settings, sub.summary_sentences) for sid in row.story_ids if by_story.get(sid)
    )
    counts = Counter(name for v in views for name in v.key_entities)
    top = tuple(name for name, _ in counts.most_common(5))
    return Digest(
        digest_id=row.id,
        channel=sub.channel,
        title=safe_line(row.title),
        scheduled_for=row.scheduled_for,
        stories=views,
        top_entities=top,
        timezone=sub.timezone,
        created_at=row.created_at,
        updates=tuple(update_view(u.position, u.story_id, u.detail) for u in row.updates),
    )
