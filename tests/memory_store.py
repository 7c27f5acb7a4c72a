"""MemoryStore: the CommandStore, DigestStore and DeliveryStore ports (bot.ports) in plain dicts.

For tests of the command router, delivery and the adapters that need no database. Its semantics
are the real store's, checked call for call against bot.store.Store on SQLite and PostgreSQL by
tests/test_store_contract.py: claims with leases and a compare-and-swap take-over, a position in
doubt, record_posted refusing a position already recorded, pending/posted/empty/skipped digests,
the notice outbox's lease. Each call holds one lock, as each store call is one transaction.

Left out, because a faithful copy would be a second implementation: full-text search
(`search_articles`), clustering and storing articles (the ingest port). Stories and articles
come in through `add_story` instead; tests needing the rest stay on the real store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.ingest.urls import feed_key
from bot.models import (
    ChannelRef,
    DigestRow,
    FeedRow,
    NoticeRow,
    PlannedUpdate,
    PostedMessage,
    StoredArticle,
    SubscriptionRow,
    ToldStory,
)

# the settings bot.store.channels lets upsert_subscription change
SETTINGS = {
    "schedule",
    "timezone",
    "weekdays",
    "max_stories",
    "follows",
    "follow_only",
    "summary_sentences",
    "no_news_line",
    "config_digest",
    "from_config",
    "updates",
}


@dataclass
class _Feed:
    row: FeedRow
    url_key: str
    added_at: datetime
    state: dict[str, Any] = field(default_factory=dict)  # polling columns not in FeedRow (next_check_at, ...)


@dataclass
class _Link:
    added_at: datetime
    backlog_settled: bool


@dataclass
class _Story:
    title: str
    updated_at: datetime
    sources: int


@dataclass
class _Item:
    position: int
    story_id: int
    kind: str = "story"
    detail: dict[str, Any] | None = None


@dataclass
class _Digest:
    id: int
    subscription_id: int
    scheduled_for: datetime
    created_at: datetime
    status: str
    title: str
    kind: str
    items: list[_Item]
    posted_at: datetime | None = None
    last_error: str | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    in_doubt: int | None = None


@dataclass
class _Notice:
    id: int
    channel: ChannelRef
    text: str
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    status: str = "pending"
    last_error: str | None = None
    done_at: datetime | None = None


def _utc(value: datetime) -> datetime:
    """The real store hands back aware UTC times; naive ones are taken as UTC, as its column type does."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MemoryStore:
    """bot.store.Store's command, digest and delivery calls over dicts; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ids: dict[str, int] = {}
        self._feeds: dict[int, _Feed] = {}
        self._subs: dict[int, SubscriptionRow] = {}
        self._managers: dict[int, str] = {}
        self._links: dict[tuple[int, int], _Link] = {}
        self._stories: dict[int, _Story] = {}
        self._articles: dict[int, StoredArticle] = {}
        self._article_feeds: set[tuple[int, int]] = set()
        self._digests: dict[int, _Digest] = {}
        self._posted: dict[tuple[int, int], tuple[PostedMessage, datetime]] = {}
        self._notices: dict[int, _Notice] = {}
        self._feed_removals = 0

    def _next(self, table: str) -> int:
        self._ids[table] = self._ids.get(table, 0) + 1
        return self._ids[table]

    def close(self) -> None:
        pass

    # --- feeds ---------------------------------------------------------------------------------

    def add_feed(self, url: str, now: datetime, *, name: str | None = None, from_config: bool = False) -> int:
        key = feed_key(url)
        with self._lock:
            same = [f for f in self._feeds.values() if f.row.url == url or f.url_key == key]
            if not same:
                fid = self._next("feeds")
                row = FeedRow(fid, url, name, None, None, None, None, None, None, None, 0, False, from_config)
                self._feeds[fid] = _Feed(row, key, _utc(now))
                return fid
            # the exact address first, then the oldest, as the store's ORDER BY
            feed = min(same, key=lambda f: (f.row.url != url, f.row.id))
            if name is not None and name != feed.row.name:
                feed.row = replace(feed.row, name=name)
            if from_config and not feed.row.from_config:
                feed.row = replace(feed.row, from_config=True)
            return feed.row.id

    def feeds(self, ids: Iterable[int] | None = None) -> list[FeedRow]:
        with self._lock:
            wanted = None if ids is None else set(ids)
            return [f.row for fid, f in sorted(self._feeds.items()) if wanted is None or fid in wanted]

    def find_feed(self, url_or_id: str) -> FeedRow | None:
        with self._lock:
            if url_or_id.isdigit():
                feed = self._feeds.get(int(url_or_id))
                return feed.row if feed else None
            key = feed_key(url_or_id)
            same = [f for f in self._feeds.values() if f.row.url == url_or_id or f.url_key == key]
            return min(same, key=lambda f: (f.row.url != url_or_id, f.row.id)).row if same else None

    def remove_feed(self, feed_id: int) -> None:
        """The feed, its links and the articles no other feed carries go; an article another feed also
        lists passes to the lowest such feed (the store's hand-over)."""
        with self._lock:
            for key in [k for k in self._links if k[1] == feed_id]:
                del self._links[key]
            for aid, article in list(self._articles.items()):
                if article.feed_id != feed_id:
                    continue
                heirs = sorted(f for a, f in self._article_feeds if a == aid and f != feed_id)
                if heirs:
                    self._articles[aid] = replace(article, feed_id=heirs[0])
                else:
                    del self._articles[aid]
                    self._article_feeds = {(a, f) for a, f in self._article_feeds if a != aid}
            self._article_feeds = {(a, f) for a, f in self._article_feeds if f != feed_id}
            self._feeds.pop(feed_id, None)
        self._feed_removals += 1

    def feed_removals(self) -> int:
        return self._feed_removals

    def save_poll_results(
        self,
        results: Sequence[tuple[int, Mapping[str, Any]]],
        notices: Sequence[tuple[ChannelRef, str]] = (),
        now: datetime | None = None,
    ) -> None:
        """Each feed's new polling state, and the notices it calls for, queued with it."""
        with self._lock:
            shown = set(FeedRow.__dataclass_fields__)
            for feed_id, values in results:
                feed = self._feeds.get(feed_id)
                if feed is None:
                    continue
                feed.row = replace(feed.row, **{k: v for k, v in values.items() if k in shown})
                feed.state.update({k: v for k, v in values.items() if k not in shown})
            if notices:
                assert now is not None, "queued notices need the time they were queued"
                for channel, text in notices:
                    nid = self._next("notices")
                    self._notices[nid] = _Notice(nid, channel, text, _utc(now), _utc(now))

    def subscribers(self, feed_id: int) -> list[ChannelRef]:
        with self._lock:
            return [self._subs[s].channel for s, f in self._links if f == feed_id]

    # --- channels ------------------------------------------------------------------------------

    def _sub_id(self, channel: ChannelRef) -> int | None:
        return next((s.id for s in self._subs.values() if s.channel == channel), None)

    def upsert_subscription(self, channel: ChannelRef, now: datetime, **values: Any) -> int:
        unknown = set(values) - SETTINGS
        if unknown:
            raise TypeError(f"not subscription settings: {sorted(unknown)}")
        for key in ("schedule", "weekdays", "follows"):
            if key in values:
                values[key] = tuple(values[key])
        with self._lock:
            sub_id = self._sub_id(channel)
            if sub_id is None:
                sub_id = self._next("subscriptions")
                defaults: dict[str, Any] = {
                    "schedule": (),
                    "timezone": "UTC",
                    "weekdays": (),
                    "max_stories": None,
                    "from_config": False,
                }
                self._subs[sub_id] = SubscriptionRow(
                    id=sub_id, channel=channel, created_at=_utc(now), **(defaults | values)
                )
            elif values:
                self._subs[sub_id] = replace(self._subs[sub_id], **values)
            return sub_id

    def ensure_subscription(self, channel: ChannelRef, now: datetime) -> int:
        with self._lock:
            sub_id = self._sub_id(channel)
            return sub_id if sub_id is not None else self.upsert_subscription(channel, now)

    def set_manager(self, channel: ChannelRef, user: str) -> None:
        with self._lock:
            sub_id = self._sub_id(channel)
            if sub_id is not None:
                self._managers[sub_id] = user

    def channel_manager(self, channel: ChannelRef) -> str | None:
        with self._lock:
            sub_id = self._sub_id(channel)
            return None if sub_id is None else self._managers.get(sub_id)

    def subscription(self, channel: ChannelRef) -> SubscriptionRow | None:
        with self._lock:
            sub_id = self._sub_id(channel)
            return None if sub_id is None else self._subs[sub_id]

    def subscription_by_id(self, subscription_id: int) -> SubscriptionRow | None:
        with self._lock:
            return self._subs.get(subscription_id)

    def subscriptions(self) -> list[SubscriptionRow]:
        with self._lock:
            return [s for _, s in sorted(self._subs.items())]

    def subscribe(
        self, subscription_id: int, feed_ids: Iterable[int], now: datetime, *, settle_backlog: bool = True
    ) -> list[int]:
        with self._lock:
            added = []
            for feed_id in dict.fromkeys(feed_ids):
                if (subscription_id, feed_id) not in self._links:
                    self._links[(subscription_id, feed_id)] = _Link(_utc(now), not settle_backlog)
                    added.append(feed_id)
            return added

    def unsubscribe(self, subscription_id: int, feed_id: int) -> tuple[bool, bool]:
        with self._lock:
            if self._links.pop((subscription_id, feed_id), None) is None:
                return False, False
            still_used = any(f == feed_id for _, f in self._links)
            feed = self._feeds.get(feed_id)
            return True, not still_used and not (feed and feed.row.from_config)

    def unsettled_feeds(self, subscription_id: int) -> list[int]:
        with self._lock:
            return [f for (s, f), link in self._links.items() if s == subscription_id and not link.backlog_settled]

    def subscribed_feed_ids(self, subscription_id: int) -> list[int]:
        with self._lock:
            return sorted(f for s, f in self._links if s == subscription_id)

    def subscribed_feeds(self, subscription_id: int) -> list[FeedRow]:
        with self._lock:
            return [self._feeds[f].row for f in self.subscribed_feed_ids(subscription_id)]

    # --- stories and articles ------------------------------------------------------------------

    def add_story(
        self,
        feed_id: int,
        title: str,
        now: datetime,
        *,
        story_id: int | None = None,
        text: str = "",
        url: str | None = None,
        summary: Sequence[str] = (),
        entities: Sequence[dict[str, Any]] = (),
        published_at: datetime | None = None,
        also_in: Sequence[int] = (),
    ) -> tuple[int, int]:
        """Seed one article of `feed_id` (also listed by the `also_in` feeds) in a story, new or the
        given one, which it brings up to date: what a poll would store. Returns (story id, article id)."""
        with self._lock:
            if story_id is None:
                story_id = self._next("stories")
                self._stories[story_id] = _Story(title, _utc(now), 0)
            story = self._stories[story_id]
            aid = self._next("articles")
            self._articles[aid] = StoredArticle(
                id=aid,
                feed_id=feed_id,
                source="",  # filled from the feed when read, as the store joins it
                title=title,
                url=url,
                text=text or title,
                published_at=published_at,
                first_seen_at=_utc(now),
                summary=list(summary),
                entities=list(entities),
                story_id=story_id,
            )
            self._article_feeds |= {(aid, f) for f in (feed_id, *also_in)}
            mine = {a.id for a in self._articles.values() if a.story_id == story_id}
            story.updated_at, story.sources = _utc(now), len({f for a, f in self._article_feeds if a in mine})
            return story_id, aid

    def story_articles(self, story_ids: Sequence[int]) -> dict[int, list[StoredArticle]]:
        with self._lock:
            out: dict[int, list[StoredArticle]] = {sid: [] for sid in story_ids}
            for _, a in sorted(self._articles.items()):
                if a.story_id in out:
                    feed = self._feeds[a.feed_id].row
                    out[a.story_id].append(replace(a, source=feed.name or feed.title or feed.url))
            return out

    def feeds_carrying(self, article_ids: Sequence[int]) -> dict[int, set[int]]:
        with self._lock:
            out: dict[int, set[int]] = {aid: set() for aid in article_ids}
            for aid, fid in self._article_feeds:
                if aid in out:
                    out[aid].add(fid)
            return out

    # --- digests -------------------------------------------------------------------------------

    def _carried_by(self, subscription_id: int) -> set[int]:
        return {i.story_id for d in self._digests.values() if d.subscription_id == subscription_id for i in d.items}

    def undigested_stories(
        self,
        subscription_id: int,
        feed_id: int | None = None,
        since: datetime | None = None,
        *,
        feed_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, int, datetime]]:
        with self._lock:
            linked = {f for s, f in self._links if s == subscription_id}
            if feed_id is not None:
                linked &= {feed_id}
            if feed_ids is not None:
                linked &= set(feed_ids)
            already = self._carried_by(subscription_id)
            out = []
            for sid, story in sorted(self._stories.items()):
                if sid in already or (since is not None and story.updated_at < _utc(since)):
                    continue
                mine = [
                    a
                    for a in self._articles.values()
                    if a.story_id == sid and any((a.id, f) in self._article_feeds for f in linked)
                ]
                if mine:
                    latest = max(_utc(a.published_at or a.first_seen_at) for a in mine)
                    out.append((sid, story.sources, latest))
            return out

    def settle_backlog(
        self, subscription_id: int, feed_ids: Sequence[int], skipped: Sequence[int], slot: datetime, now: datetime
    ) -> None:
        with self._lock:
            backlog_slot = _utc(slot) - timedelta(microseconds=1)
            if skipped and self._slot_taken(subscription_id, backlog_slot):
                return  # another worker settled this slot: all or nothing, as the store's transaction
            for f in feed_ids:
                link = self._links.get((subscription_id, f))
                if link is not None:
                    link.backlog_settled = True
            if skipped:
                did = self._next("digests")
                items = [_Item(i, sid) for i, sid in enumerate(skipped, 1)]
                self._digests[did] = _Digest(
                    did, subscription_id, backlog_slot, _utc(now), "skipped", "backlog", "backlog", items
                )

    def _slot_taken(self, subscription_id: int, scheduled_for: datetime) -> bool:
        return any(
            d.subscription_id == subscription_id and d.scheduled_for == scheduled_for for d in self._digests.values()
        )

    def has_digest(self, subscription_id: int, scheduled_for: datetime) -> bool:
        with self._lock:
            return self._slot_taken(subscription_id, _utc(scheduled_for))

    def last_digest_at(self, subscription_id: int, before: datetime | None = None) -> datetime | None:
        with self._lock:
            times = [
                d.scheduled_for
                for d in self._digests.values()
                if d.subscription_id == subscription_id
                and d.status == "posted"
                and (before is None or d.scheduled_for < _utc(before))
            ]
            return max(times, default=None)

    def create_digest(
        self,
        subscription_id: int,
        scheduled_for: datetime,
        title: str,
        story_ids: Sequence[int],
        now: datetime,
        *,
        kind: str = "scheduled",
        status: str | None = None,
        updates: Sequence[tuple[int, dict[str, Any]]] = (),
    ) -> int | None:
        with self._lock:
            scheduled_for = _utc(scheduled_for)
            if self._slot_taken(subscription_id, scheduled_for):
                return None
            carried = self._carried_by(subscription_id)
            story_ids = [sid for sid in story_ids if sid not in carried]
            if updates:
                updates = self._not_told_since(subscription_id, updates)
            did = self._next("digests")
            items = [_Item(i, sid) for i, sid in enumerate(story_ids, 1)]
            items += [_Item(i, sid, "update", d) for i, (sid, d) in enumerate(updates, len(story_ids) + 1)]
            if len({i.story_id for i in items}) != len(items):
                return None  # one story twice in a digest: the store's unique (digest, story) refuses it
            self._digests[did] = _Digest(
                did,
                subscription_id,
                scheduled_for,
                _utc(now),
                status or ("pending" if story_ids or updates else "empty"),
                title,
                kind,
                items,
            )
            return did

    def _not_told_since(
        self, subscription_id: int, updates: Sequence[tuple[int, dict[str, Any]]]
    ) -> list[tuple[int, dict[str, Any]]]:
        last: dict[int, datetime] = {}
        for d in self._digests.values():
            if d.subscription_id != subscription_id or d.kind == "backlog" or d.status not in ("posted", "pending"):
                continue
            for i in d.items:
                last[i.story_id] = max(last.get(i.story_id, d.created_at), d.created_at)
        kept = []
        for sid, detail in updates:
            told = detail.get("told_at")
            told_at = datetime.fromisoformat(told) if isinstance(told, str) else None
            latest = last.get(sid)
            if told_at is None or latest is None or latest <= told_at:
                kept.append((sid, detail))
        return kept

    def _row(self, d: _Digest) -> DigestRow:
        items = sorted(d.items, key=lambda i: i.position)
        return DigestRow(
            id=d.id,
            subscription_id=d.subscription_id,
            scheduled_for=d.scheduled_for,
            status=d.status,  # type: ignore[arg-type]
            title=d.title,
            story_ids=tuple(i.story_id for i in items if i.kind != "update"),
            posted={pos: msg for (did, pos), (msg, _) in sorted(self._posted.items()) if did == d.id},
            kind=d.kind,  # type: ignore[arg-type]
            created_at=d.created_at,
            claimed_by=d.claimed_by,
            claimed_until=d.claimed_until,
            in_doubt=d.in_doubt,
            last_error=d.last_error,
            updates=tuple(
                PlannedUpdate(i.position, i.story_id, dict(i.detail or {})) for i in items if i.kind == "update"
            ),
        )

    def digest(self, digest_id: int) -> DigestRow | None:
        with self._lock:
            d = self._digests.get(digest_id)
            return None if d is None else self._row(d)

    def pending_digests(self, subscription_id: int) -> list[DigestRow]:
        with self._lock:
            return [
                self._row(d)
                for _, d in sorted(self._digests.items())
                if d.subscription_id == subscription_id and d.status == "pending"
            ]

    def claimable_subscriptions(self, now: datetime, dead: Callable[[str], bool] = lambda owner: False) -> list[int]:
        with self._lock:
            free = [
                d.subscription_id
                for _, d in sorted(self._digests.items())
                if d.status == "pending"
                and (
                    d.claimed_until is None
                    or d.claimed_until <= _utc(now)
                    or (d.claimed_by is not None and dead(d.claimed_by))
                )
            ]
            return list(dict.fromkeys(free))

    def claim_digest(
        self, digest_id: int, owner: str, now: datetime, until: datetime, *, take_from: str | None = None
    ) -> bool:
        with self._lock:
            d = self._digests.get(digest_id)
            if d is None or d.status != "pending":
                return False
            free = d.claimed_until is None or d.claimed_until <= _utc(now)
            # compare-and-swap on the dead holder: of two runs taking over at once, one wins
            if not free and not (take_from is not None and d.claimed_by == take_from):
                return False
            d.claimed_by, d.claimed_until = owner, _utc(until)
            return True

    def _held(self, digest_id: int, owner: str) -> _Digest | None:
        d = self._digests.get(digest_id)
        return d if d is not None and d.claimed_by == owner else None

    def renew_claim(self, digest_id: int, owner: str, until: datetime) -> bool:
        with self._lock:
            d = self._held(digest_id, owner)
            if d is None:
                return False
            d.claimed_until = _utc(until)
            return True

    def begin_post(self, digest_id: int, owner: str, position: int, until: datetime) -> bool:
        with self._lock:
            d = self._held(digest_id, owner)
            if d is None:
                return False
            d.claimed_until, d.in_doubt = _utc(until), position
            return True

    def clear_doubt(self, digest_id: int, position: int) -> None:
        with self._lock:
            d = self._digests.get(digest_id)
            if d is not None and d.in_doubt == position:
                d.in_doubt = None

    def release_digest(
        self, digest_id: int, owner: str, *, retry_at: datetime | None = None, error: str | None = None
    ) -> None:
        with self._lock:
            d = self._held(digest_id, owner)
            if d is None:
                return
            d.claimed_by, d.claimed_until = None, None if retry_at is None else _utc(retry_at)
            if error is not None:
                d.last_error = error

    def record_posted(self, digest_id: int, position: int, ref: str, thread_ref: str | None, now: datetime) -> bool:
        with self._lock:
            d = self._digests.get(digest_id)
            if d is None or (digest_id, position) in self._posted:  # the store's key (and foreign key) refuse it
                return False
            self._posted[(digest_id, position)] = (PostedMessage(ref, thread_ref), _utc(now))
            if d.in_doubt == position:
                d.in_doubt = None
            return True

    def message_recorded(self, ref: str) -> bool:
        with self._lock:
            return any(msg.ref == ref for msg, _ in self._posted.values())

    def finish_digest(self, digest_id: int, owner: str, now: datetime) -> None:
        with self._lock:
            d = self._held(digest_id, owner)
            if d is not None:
                d.status, d.posted_at, d.last_error = "posted", _utc(now), None
                d.claimed_by = d.claimed_until = d.in_doubt = None

    def told_stories(self, subscription_id: int, since: datetime) -> list[ToldStory]:
        with self._lock:
            mine = [
                d
                for _, d in sorted(self._digests.items())
                if d.subscription_id == subscription_id and d.kind != "backlog"
            ]
            told: dict[int, PostedMessage] = {}
            for d in mine:
                if d.status != "posted" or d.created_at < _utc(since):
                    continue
                for i in d.items:
                    posted = self._posted.get((d.id, i.position))
                    if i.kind == "story" and posted is not None and not posted[0].ref.startswith("skipped:"):
                        told[i.story_id] = posted[0]  # the store keeps one of several: the latest here
            last: dict[int, datetime] = {}
            pending: set[int] = set()
            earlier: dict[int, list[str]] = {}
            for d in mine:
                if d.status not in ("posted", "pending"):
                    continue
                for i in d.items:
                    if i.story_id not in told:
                        continue
                    last[i.story_id] = max(last.get(i.story_id, d.created_at), d.created_at)
                    if d.status == "pending":
                        pending.add(i.story_id)
                    if i.kind == "update" and i.detail:
                        earlier.setdefault(i.story_id, []).extend(str(x) for x in i.detail.get("sentences", ()))
            return [
                ToldStory(sid, msg.ref, msg.thread_ref, last[sid], tuple(earlier.get(sid, ())))
                for sid, msg in sorted(told.items())
                if sid not in pending and sid in self._stories and self._stories[sid].updated_at > last[sid]
            ]

    # --- notices -------------------------------------------------------------------------------

    def claim_notices(
        self, now: datetime, lease_until: datetime, platforms: Sequence[str], limit: int = 1
    ) -> list[NoticeRow]:
        with self._lock:
            due = [
                n
                for _, n in sorted(self._notices.items())
                if n.status == "pending" and n.next_attempt_at <= _utc(now) and n.channel.platform in platforms
            ][:limit]
            for n in due:
                n.next_attempt_at, n.attempts = _utc(lease_until), n.attempts + 1
            return [NoticeRow(n.id, n.channel, n.text, n.created_at, n.attempts) for n in due]

    def _settle_notice(self, notice_id: int, lease_until: datetime, **values: Any) -> bool:
        n = self._notices.get(notice_id)
        if n is None or n.status != "pending" or n.next_attempt_at != _utc(lease_until):
            return False  # the lease ran out and another process took it
        for key, value in values.items():
            setattr(n, key, value)
        return True

    def notice_done(
        self, notice_id: int, lease_until: datetime, now: datetime, *, sent: bool, error: str | None = None
    ) -> bool:
        with self._lock:
            return self._settle_notice(
                notice_id, lease_until, status="sent" if sent else "dropped", done_at=_utc(now), last_error=error
            )

    def notice_retry(self, notice_id: int, lease_until: datetime, at: datetime, error: str) -> bool:
        with self._lock:
            return self._settle_notice(notice_id, lease_until, next_attempt_at=_utc(at), last_error=error)

    def notices_for(self, channel: ChannelRef) -> list[tuple[str, str, str | None]]:
        with self._lock:
            return [(n.status, n.text, n.last_error) for _, n in sorted(self._notices.items()) if n.channel == channel]

    def prune_notices(self, older_than: datetime) -> int:
        with self._lock:
            cut = _utc(older_than)
            gone = [
                nid
                for nid, n in self._notices.items()
                if (n.status != "pending" and n.done_at is not None and n.done_at < cut)
                or (n.status == "pending" and n.created_at < cut)
            ]
            for nid in gone:
                del self._notices[nid]
            return len(gone)
