"""Digests: planning a slot, its ordered stories, and every message posted for it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.models import ChannelRef, PlannedUpdate, PostedMessage
from bot.store.notices import forget_problems
from bot.store.rows import DigestRow, ToldStory, new_id
from bot.store.schema import (
    article_feeds,
    articles,
    digest_items,
    digests,
    posted_messages,
    stories,
    subscription_feeds,
    subscriptions,
)


class DigestQueries:
    engine: Engine

    def undigested_stories(
        self,
        subscription_id: int,
        feed_id: int | None = None,
        since: datetime | None = None,
        *,
        feed_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, int, datetime]]:
        """(story id, sources, latest time) of stories carried by the subscription's feeds (or by
        `feed_id`, or by any of `feed_ids`) that none of its digests has carried yet. A story counts
        for every feed that lists one of its articles, whichever feed fetched it first."""
        latest = sa.func.max(sa.func.coalesce(articles.c.published_at, articles.c.first_seen_at))
        already = (
            sa.select(digest_items.c.story_id)
            .join(digests, digests.c.id == digest_items.c.digest_id)
            .where(digests.c.subscription_id == subscription_id)
        )
        link = sa.and_(
            subscription_feeds.c.feed_id == article_feeds.c.feed_id,
            subscription_feeds.c.subscription_id == subscription_id,
        )
        if feed_id is not None:
            link = sa.and_(link, article_feeds.c.feed_id == feed_id)
        if feed_ids is not None:
            link = sa.and_(link, article_feeds.c.feed_id.in_(list(feed_ids)))
        query = (
            sa.select(stories.c.id, stories.c.sources, latest.label("latest"))
            .join(articles, articles.c.story_id == stories.c.id)
            .join(article_feeds, article_feeds.c.article_id == articles.c.id)
            .join(subscription_feeds, link)
            .where(stories.c.id.not_in(already), *([stories.c.updated_at >= since] if since else []))
            .group_by(stories.c.id, stories.c.sources)
        )
        with self.engine.connect() as conn:
            return [(r.id, r.sources, r.latest) for r in conn.execute(query)]

    def has_digest(self, subscription_id: int, scheduled_for: datetime) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(digests.c.id).where(
                        digests.c.subscription_id == subscription_id, digests.c.scheduled_for == scheduled_for
                    )
                ).first()
                is not None
            )

    def last_digest_at(self, subscription_id: int, before: datetime | None = None) -> datetime | None:
        """When the channel's last posted digest was made (before `before`, if given)."""
        cond = [digests.c.subscription_id == subscription_id, digests.c.status == "posted"]
        if before is not None:
            cond.append(digests.c.scheduled_for < before)
        with self.engine.connect() as conn:
            value: datetime | None = conn.scalar(sa.select(sa.func.max(digests.c.scheduled_for)).where(*cond))
        return value

    def claim_digest(
        self, digest_id: int, owner: str, now: datetime, until: datetime, *, take_from: str | None = None
    ) -> bool:
        """Take the right to post this digest until `until`; False while another worker holds it
        (or while a failed attempt's retry time has not come). With `take_from`, also take it from
        that holder, whose lease has not run out but who is known to be dead."""
        free = sa.or_(digests.c.claimed_until.is_(None), digests.c.claimed_until <= now)
        if take_from is not None:
            # compare-and-swap on the dead holder: of two runs taking over at once, one wins
            free = sa.or_(free, digests.c.claimed_by == take_from)
        with self.engine.begin() as conn:
            taken = conn.execute(
                digests.update()
                .where(digests.c.id == digest_id, digests.c.status == "pending", free)
                .values(claimed_by=owner, claimed_until=until)
            ).rowcount
        return bool(taken)

    def renew_claim(self, digest_id: int, owner: str, until: datetime) -> bool:
        """Extend our lease (the heartbeat); False if it was lost to another worker."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    digests.update()
                    .where(digests.c.id == digest_id, digests.c.claimed_by == owner)
                    .values(claimed_until=until)
                ).rowcount
            )

    def begin_post(self, digest_id: int, owner: str, position: int, until: datetime) -> bool:
        """Before a message is sent: note its position as in doubt and extend our lease, in one step.
        False if the lease was lost (nothing may be sent then)."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    digests.update()
                    .where(digests.c.id == digest_id, digests.c.claimed_by == owner)
                    .values(claimed_until=until, in_doubt=position)
                ).rowcount
            )

    def clear_doubt(self, digest_id: int, position: int) -> None:
        """The platform said for certain that this position was not posted (a refusal)."""
        with self.engine.begin() as conn:
            conn.execute(
                digests.update().where(digests.c.id == digest_id, digests.c.in_doubt == position).values(in_doubt=None)
            )

    def release_digest(
        self, digest_id: int, owner: str, *, retry_at: datetime | None = None, error: str | None = None
    ) -> None:
        """Give the digest up; with `retry_at`, nobody may take it again before then."""
        values: dict[str, object] = {"claimed_by": None, "claimed_until": retry_at}
        if error is not None:
            values["last_error"] = error
        with self.engine.begin() as conn:
            conn.execute(
                digests.update().where(digests.c.id == digest_id, digests.c.claimed_by == owner).values(**values)
            )

    def settle_backlog(
        self, subscription_id: int, feed_ids: Sequence[int], skipped: Sequence[int], slot: datetime, now: datetime
    ) -> None:
        """Mark the feeds' links settled and record `skipped` stories as seen, in one transaction,
        so a crash cannot leave a link settled with its old items still unseen. Another worker
        settling the same slot at the same moment wins, and this one does nothing."""
        # an IntegrityError: the backlog row of this slot exists, the other worker settled these links
        with contextlib.suppress(sa.exc.IntegrityError):
            self._settle_backlog(subscription_id, feed_ids, skipped, slot, now)

    def _settle_backlog(
        self, subscription_id: int, feed_ids: Sequence[int], skipped: Sequence[int], slot: datetime, now: datetime
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                subscription_feeds.update()
                .where(
                    subscription_feeds.c.subscription_id == subscription_id,
                    subscription_feeds.c.feed_id.in_(list(feed_ids)),
                )
                .values(backlog_settled=True)
            )
            if skipped:
                # a slot of its own just before the real one, so the two never collide
                backlog_id = new_id(
                    conn.execute(
                        digests.insert().values(
                            subscription_id=subscription_id,
                            scheduled_for=slot - timedelta(microseconds=1),
                            created_at=now,
                            status="skipped",
                            title="backlog",
                            kind="backlog",
                        )
                    )
                )
                conn.execute(
                    digest_items.insert(),
                    [{"digest_id": backlog_id, "position": i, "story_id": sid} for i, sid in enumerate(skipped, 1)],
                )

    def claimable_subscriptions(self, now: datetime, dead: Callable[[str], bool] = lambda owner: False) -> list[int]:
        """Subscriptions with a pending digest that nobody holds (or whose holder is `dead`) and whose
        retry time has come."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(digests.c.subscription_id, digests.c.claimed_by, digests.c.claimed_until)
                .where(digests.c.status == "pending")
                .order_by(digests.c.id)
            ).all()
        free = [
            r.subscription_id
            for r in rows
            if r.claimed_until is None or r.claimed_until <= now or (r.claimed_by is not None and dead(r.claimed_by))
        ]
        return list(dict.fromkeys(free))

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
        """Record a digest and its stories; None when that (subscription, time) slot already has one.

        A digest with stories (or `updates`: (story id, what the follow-up posts), positioned after
        the stories) starts pending, one without is empty; kind "backlog" with status "skipped"
        records stories as seen without posting them (no flood on subscribe).
        """
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # two workers planning digests for one channel take turns, so no story is picked twice
                    conn.execute(
                        sa.select(subscriptions.c.id).where(subscriptions.c.id == subscription_id).with_for_update()
                    )
                    if story_ids:
                        # a poll splitting one of these stories finishes first (add_articles locks them),
                        # and none splits once this digest has it
                        conn.execute(
                            sa.select(stories.c.id)
                            .where(stories.c.id.in_(sorted(story_ids)))
                            .order_by(stories.c.id)
                            .with_for_update(read=True)
                        )
                if story_ids:
                    carried = set(
                        conn.scalars(
                            sa.select(digest_items.c.story_id)
                            .join(digests, digests.c.id == digest_items.c.digest_id)
                            .where(
                                digests.c.subscription_id == subscription_id,
                                digest_items.c.story_id.in_(list(story_ids)),
                            )
                        )
                    )
                    story_ids = [sid for sid in story_ids if sid not in carried]
                if updates:
                    updates = _not_told_since(conn, subscription_id, updates)
                digest_id = new_id(
                    conn.execute(
                        digests.insert().values(
                            subscription_id=subscription_id,
                            scheduled_for=scheduled_for,
                            created_at=now,
                            status=status or ("pending" if story_ids or updates else "empty"),
                            title=title,
                            kind=kind,
                        )
                    )
                )
                if story_ids:
                    conn.execute(
                        digest_items.insert(),
                        [
                            {"digest_id": digest_id, "position": i, "story_id": sid}
                            for i, sid in enumerate(story_ids, start=1)
                        ],
                    )
                if updates:
                    conn.execute(
                        digest_items.insert(),
                        [
                            {"digest_id": digest_id, "position": i, "story_id": sid, "kind": "update", "detail": d}
                            for i, (sid, d) in enumerate(updates, start=len(story_ids) + 1)
                        ],
                    )
                return digest_id
        except sa.exc.IntegrityError:
            return None

    def pending_digests(self, subscription_id: int) -> list[DigestRow]:
        with self.engine.connect() as conn:
            ids = list(
                conn.scalars(
                    sa.select(digests.c.id)
                    .where(digests.c.subscription_id == subscription_id, digests.c.status == "pending")
                    .order_by(digests.c.id)
                )
            )
        return [d for d in (self.digest(i) for i in ids) if d is not None]

    def digest(self, digest_id: int) -> DigestRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(digests).where(digests.c.id == digest_id)).first()
            if row is None:
                return None
            items = conn.execute(
                sa.select(digest_items.c.position, digest_items.c.story_id, digest_items.c.kind, digest_items.c.detail)
                .where(digest_items.c.digest_id == digest_id)
                .order_by(digest_items.c.position)
            ).all()
            story_ids = tuple(i.story_id for i in items if i.kind != "update")
            updates = tuple(
                PlannedUpdate(i.position, i.story_id, dict(i.detail or {})) for i in items if i.kind == "update"
            )
            posted = {
                r.position: PostedMessage(r.ref, r.thread_ref)
                for r in conn.execute(sa.select(posted_messages).where(posted_messages.c.digest_id == digest_id))
            }
        return DigestRow(
            id=row.id,
            subscription_id=row.subscription_id,
            scheduled_for=row.scheduled_for,
            status=row.status,
            title=row.title,
            story_ids=story_ids,
            posted=posted,
            kind=row.kind,
            created_at=row.created_at,
            claimed_by=row.claimed_by,
            claimed_until=row.claimed_until,
            in_doubt=row.in_doubt,
            last_error=row.last_error,
            updates=updates,
        )

    def record_posted(self, digest_id: int, position: int, ref: str, thread_ref: str | None, now: datetime) -> bool:
        """Record one posted message (and that it is no longer in doubt); False if that position was
        already recorded (another run won)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    posted_messages.insert().values(
                        digest_id=digest_id, position=position, ref=ref, thread_ref=thread_ref, posted_at=now
                    )
                )
                conn.execute(
                    digests.update()
                    .where(digests.c.id == digest_id, digests.c.in_doubt == position)
                    .values(in_doubt=None)
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def message_recorded(self, ref: str) -> bool:
        """Whether any digest recorded this platform message (to tell our own earlier posts apart)."""
        with self.engine.connect() as conn:
            query = sa.select(posted_messages.c.digest_id).where(posted_messages.c.ref == ref).limit(1)
            return conn.execute(query).first() is not None

    def finish_digest(self, digest_id: int, owner: str, now: datetime) -> None:
        """The digest is posted in full; the channel's posting problems told to its manager are over."""
        with self.engine.begin() as conn:
            finished = conn.execute(
                digests.update()
                .where(digests.c.id == digest_id, digests.c.claimed_by == owner)
                .values(
                    status="posted", posted_at=now, last_error=None, claimed_by=None, claimed_until=None, in_doubt=None
                )
            ).rowcount
            where = conn.execute(
                sa.select(subscriptions.c.platform, subscriptions.c.channel)
                .join(digests, digests.c.subscription_id == subscriptions.c.id)
                .where(digests.c.id == digest_id)
            ).first()
            if finished and where is not None:
                forget_problems(conn, ChannelRef(where.platform, where.channel))

    def told_stories(self, subscription_id: int, since: datetime) -> list[ToldStory]:
        """Stories the channel was told (a posted digest since `since` carries a message for them) that
        gained articles after they were last told; a story with a digest still pending is left out
        until that digest is posted."""
        mine = sa.and_(digests.c.subscription_id == subscription_id, digests.c.kind != "backlog")
        first = (
            sa.select(
                digest_items.c.story_id,
                posted_messages.c.ref,
                posted_messages.c.thread_ref,
                digests.c.created_at,
            )
            .join(digests, digests.c.id == digest_items.c.digest_id)
            .join(
                posted_messages,
                sa.and_(
                    posted_messages.c.digest_id == digest_items.c.digest_id,
                    posted_messages.c.position == digest_items.c.position,
                ),
            )
            .where(
                mine,
                digests.c.status == "posted",
                digests.c.created_at >= since,
                digest_items.c.kind == "story",
                posted_messages.c.ref.not_like("skipped:%"),
            )
        )
        every = (
            sa.select(
                digest_items.c.story_id,
                digest_items.c.kind,
                digest_items.c.detail,
                digests.c.created_at,
                digests.c.status,
            )
            .join(digests, digests.c.id == digest_items.c.digest_id)
            .where(mine, digests.c.status.in_(["posted", "pending"]))
        )
        with self.engine.connect() as conn:
            told = {r.story_id: r for r in conn.execute(first)}
            if not told:
                return []
            last: dict[int, datetime] = {}
            pending: set[int] = set()
            earlier: dict[int, list[str]] = {}
            for r in conn.execute(every.where(digest_items.c.story_id.in_(list(told)))):
                last[r.story_id] = max(last.get(r.story_id, r.created_at), r.created_at)
                if r.status == "pending":
                    pending.add(r.story_id)
                if r.kind == "update" and r.detail:
                    earlier.setdefault(r.story_id, []).extend(str(x) for x in r.detail.get("sentences", ()))
            updated = dict(
                conn.execute(sa.select(stories.c.id, stories.c.updated_at).where(stories.c.id.in_(list(told)))).all()
            )
        return [
            ToldStory(sid, r.ref, r.thread_ref, last[sid], tuple(earlier.get(sid, ())))
            for sid, r in sorted(told.items())
            if sid not in pending and sid in updated and updated[sid] > last[sid]
        ]


def _not_told_since(
    conn: sa.Connection, subscription_id: int, updates: Sequence[tuple[int, dict[str, Any]]]
) -> list[tuple[int, dict[str, Any]]]:
    """The follow-ups whose story no digest of this channel carried since it was last told: another
    digest planned at the same moment (a manual one beside the scheduled one) may have taken it first."""
    last = dict(
        conn.execute(
            sa.select(digest_items.c.story_id, sa.func.max(digests.c.created_at))
            .join(digests, digests.c.id == digest_items.c.digest_id)
            .where(
                digests.c.subscription_id == subscription_id,
                digests.c.kind != "backlog",
                digests.c.status.in_(["posted", "pending"]),  # as told_stories counts "last told"
                digest_items.c.story_id.in_([sid for sid, _ in updates]),
            )
            .group_by(digest_items.c.story_id)
        ).all()
    )
    kept = []
    for sid, detail in updates:
        told = detail.get("told_at")
        told_at = datetime.fromisoformat(told) if isinstance(told, str) else None
        latest = last.get(sid)
        if latest is not None and latest.tzinfo is None:
            latest = latest.replace(tzinfo=UTC)
        if told_at is None or latest is None or latest <= told_at:
            kept.append((sid, detail))
    return kept
