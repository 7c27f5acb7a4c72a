"""Digests: planning a slot, its ordered stories, and every message posted for it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.rows import DigestRow, new_id
from bot.store.schema import (
    articles,
    digest_items,
    digests,
    posted_messages,
    stories,
    subscription_feeds,
)


class DigestQueries:
    engine: Engine

    def undigested_stories(self, subscription_id: int) -> list[tuple[int, int, datetime]]:
        """(story id, sources, latest time) of stories from the subscription's feeds not yet in its digests."""
        latest = sa.func.max(sa.func.coalesce(articles.c.published_at, articles.c.first_seen_at))
        already = (
            sa.select(digest_items.c.story_id)
            .join(digests, digests.c.id == digest_items.c.digest_id)
            .where(digests.c.subscription_id == subscription_id)
        )
        query = (
            sa.select(stories.c.id, stories.c.sources, latest.label("latest"))
            .join(articles, articles.c.story_id == stories.c.id)
            .join(
                subscription_feeds,
                sa.and_(
                    subscription_feeds.c.feed_id == articles.c.feed_id,
                    subscription_feeds.c.subscription_id == subscription_id,
                ),
            )
            .where(stories.c.id.not_in(already))
            .group_by(stories.c.id, stories.c.sources)
        )
        with self.engine.connect() as conn:
            return [(r.id, r.sources, r.latest) for r in conn.execute(query)]

    def create_digest(
        self, subscription_id: int, scheduled_for: datetime, title: str, story_ids: Sequence[int], now: datetime
    ) -> int | None:
        """Record a digest and its stories; None when that (subscription, time) slot already has one."""
        try:
            with self.engine.begin() as conn:
                digest_id = new_id(
                    conn.execute(
                        digests.insert().values(
                            subscription_id=subscription_id,
                            scheduled_for=scheduled_for,
                            created_at=now,
                            status="pending" if story_ids else "empty",
                            title=title,
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
            story_ids = tuple(
                conn.scalars(
                    sa.select(digest_items.c.story_id)
                    .where(digest_items.c.digest_id == digest_id)
                    .order_by(digest_items.c.position)
                )
            )
            posted = {
                r.position: (r.ref, r.thread_ref)
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
        )

    def record_posted(self, digest_id: int, position: int, ref: str, thread_ref: str | None, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                posted_messages.insert().values(
                    digest_id=digest_id, position=position, ref=ref, thread_ref=thread_ref, posted_at=now
                )
            )

    def finish_digest(self, digest_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                digests.update()
                .where(digests.c.id == digest_id)
                .values(status="posted", posted_at=now, last_error=None)
            )

    def digest_failed(self, digest_id: int, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(digests.update().where(digests.c.id == digest_id).values(last_error=error))
