"""Feed rows: adding, listing, removing feeds and remembering how each fetch went."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.rows import FeedRow, feed_row, new_id
from bot.store.schema import (
    articles,
    feeds,
    subscription_feeds,
)


class FeedQueries:
    engine: Engine

    def add_feed(self, url: str, now: datetime, *, name: str | None = None, from_config: bool = False) -> int:
        """The feed's id, inserting it first if it is new (an existing row keeps its state)."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(feeds.c.id, feeds.c.name, feeds.c.from_config).where(feeds.c.url == url)
            ).first()
            if row is None:
                return new_id(
                    conn.execute(feeds.insert().values(url=url, name=name, added_at=now, from_config=from_config))
                )
            changes: dict[str, Any] = {}
            if name is not None and name != row.name:
                changes["name"] = name
            if from_config and not row.from_config:
                changes["from_config"] = True
            if changes:
                conn.execute(feeds.update().where(feeds.c.id == row.id).values(**changes))
            return int(row.id)

    def feeds(self, ids: Iterable[int] | None = None) -> list[FeedRow]:
        query = sa.select(feeds).order_by(feeds.c.id)
        if ids is not None:
            query = query.where(feeds.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            return [feed_row(r) for r in conn.execute(query)]

    def find_feed(self, url_or_id: str) -> FeedRow | None:
        query = sa.select(feeds)
        query = (
            query.where(feeds.c.id == int(url_or_id)) if url_or_id.isdigit() else query.where(feeds.c.url == url_or_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return feed_row(row) if row else None

    def remove_feed(self, feed_id: int) -> None:
        """Deletes the feed, its subscriptions and its articles (stories stay for past digests)."""
        with self.engine.begin() as conn:
            conn.execute(subscription_feeds.delete().where(subscription_feeds.c.feed_id == feed_id))
            if conn.dialect.name == "sqlite":  # FTS5 tables take no foreign keys
                conn.execute(
                    sa.text("DELETE FROM articles_fts WHERE rowid IN (SELECT id FROM articles WHERE feed_id = :f)"),
                    {"f": feed_id},
                )
            conn.execute(articles.delete().where(articles.c.feed_id == feed_id))
            conn.execute(feeds.delete().where(feeds.c.id == feed_id))

    def record_fetch(
        self,
        feed_id: int,
        now: datetime,
        *,
        status: int | None,
        error: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        body_hash: str | None = None,
        title: str | None = None,
    ) -> None:
        """Remember how a fetch went; a failure keeps the validators and counts up."""
        values: dict[str, Any] = {"last_checked_at": now, "last_status": status}
        if error is None:
            values.update(last_error=None, failure_count=0)
            if status == 200:
                values.update(etag=etag, last_modified=last_modified, body_hash=body_hash)
            if title:
                values["title"] = title
        else:
            values.update(last_error=error, failure_count=feeds.c.failure_count + 1)
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(**values))
