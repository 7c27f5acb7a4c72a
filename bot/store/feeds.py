"""Feed rows: adding, listing, removing feeds and remembering how each fetch went.

Polling claims due feeds by moving their next_check_at forward in one UPDATE ... RETURNING,
so two pollers (or a scheduled and a manual poll) never fetch the same URL at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.ingest.urls import feed_key
from bot.models import ChannelRef, FeedSchedule
from bot.store.notices import queue_notices
from bot.store.rows import FeedRow, feed_row
from bot.store.schema import (
    FEED_REMOVALS,
    article_feeds,
    articles,
    counters,
    feeds,
    subscription_feeds,
)
from bot.store.upsert import insert_missing

_CHUNK = 500  # ids per IN (...) list, well under every backend's bound-parameter limit


def _schedule(r: Any) -> FeedSchedule:
    return FeedSchedule(feed_row(r), r.next_check_at, r.interval_seconds, r.paused_at, bool(r.pause_notified))


class FeedQueries:
    engine: Engine

    def add_feed(self, url: str, now: datetime, *, name: str | None = None, from_config: bool = False) -> int:
        """The feed's id, inserting it first if it is new (an existing row keeps its state).

        An address with the same `feed_key` as a stored feed (a tracking parameter, another case of
        the host, a trailing slash) is that feed, not a new one.
        """
        key = feed_key(url)
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(feeds.c.id, feeds.c.name, feeds.c.from_config)
                .where(sa.or_(feeds.c.url == url, feeds.c.url_key == key))
                .order_by(feeds.c.url != url, feeds.c.id)
                .limit(1)
            ).first()
            if row is None:
                values = {"url": url, "url_key": key, "name": name, "added_at": now, "from_config": from_config}
                insert_missing(conn, feeds, [values], ["url"])  # a process starting alongside may add it first
                row = conn.execute(
                    sa.select(feeds.c.id, feeds.c.name, feeds.c.from_config).where(feeds.c.url == url)
                ).one()
            changes: dict[str, Any] = {}
            if name is not None and name != row.name:
                changes["name"] = name
            if from_config and not row.from_config:
                changes["from_config"] = True
            if changes:
                conn.execute(feeds.update().where(feeds.c.id == row.id).values(**changes))
            return int(row.id)

    def feeds(self, ids: Iterable[int] | None = None) -> list[FeedRow]:
        return [s.feed for s in self.feed_schedules(ids)]

    def find_feed(self, url_or_id: str) -> FeedRow | None:
        query = sa.select(feeds)
        query = (
            query.where(feeds.c.id == int(url_or_id))
            if url_or_id.isdigit()
            else query.where(sa.or_(feeds.c.url == url_or_id, feeds.c.url_key == feed_key(url_or_id)))
            .order_by(feeds.c.url != url_or_id, feeds.c.id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return feed_row(row) if row else None

    def remove_feed(self, feed_id: int) -> None:
        """Deletes the feed, its subscriptions and the articles no other feed carries (stories stay
        for past digests). An article another feed carries too passes to that feed, under its GUID there."""
        with self.engine.begin() as conn:
            conn.execute(subscription_feeds.delete().where(subscription_feeds.c.feed_id == feed_id))
            _hand_over_shared(conn, feed_id)
            conn.execute(article_feeds.delete().where(article_feeds.c.feed_id == feed_id))
            if conn.dialect.name == "sqlite":  # FTS5 tables take no foreign keys
                conn.execute(
                    sa.text("DELETE FROM articles_fts WHERE rowid IN (SELECT id FROM articles WHERE feed_id = :f)"),
                    {"f": feed_id},
                )
            conn.execute(articles.delete().where(articles.c.feed_id == feed_id))
            conn.execute(feeds.delete().where(feeds.c.id == feed_id))
            # with the deletion, so every process's cached story index sees it (bot.ingest.service)
            insert_missing(conn, counters, [{"name": FEED_REMOVALS, "value": 0}], ["name"])
            conn.execute(counters.update().where(counters.c.name == FEED_REMOVALS).values(value=counters.c.value + 1))

    def feed_schedules(self, ids: Iterable[int] | None = None) -> list[FeedSchedule]:
        query = sa.select(feeds).order_by(feeds.c.id)
        if ids is not None:
            query = query.where(feeds.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            return [_schedule(r) for r in conn.execute(query)]

    def claim_feeds(
        self, now: datetime, lease_until: datetime, *, ids: Iterable[int] | None = None, due_only: bool = True
    ) -> list[FeedSchedule]:
        """Claim feeds for one poll (due ones, or all), in id order, by setting next_check_at to `lease_until`.

        A claimed feed is not due for anyone else until its result is saved or the lease runs out
        (a poller that died). The UPDATE re-checks "due" under the row lock, so of two pollers
        racing for a feed, one gets it.
        """
        due = sa.or_(feeds.c.next_check_at.is_(None), feeds.c.next_check_at <= now)
        wanted = None if ids is None else sorted(set(ids))
        batches: list[list[int] | None] = (
            [None] if wanted is None else [wanted[i : i + _CHUNK] for i in range(0, len(wanted), _CHUNK)]
        )
        claimed: list[FeedSchedule] = []
        with self.engine.begin() as conn:
            for batch in batches:
                stmt = feeds.update().values(next_check_at=lease_until)
                if batch is not None:
                    stmt = stmt.where(feeds.c.id.in_(batch))
                if due_only:
                    stmt = stmt.where(due)
                claimed += [_schedule(r) for r in conn.execute(stmt.returning(*feeds.c))]
        return sorted(claimed, key=lambda s: s.feed.id)

    def save_poll_results(
        self,
        results: Sequence[tuple[int, Mapping[str, Any]]],
        notices: Sequence[tuple[ChannelRef, str]] = (),
        now: datetime | None = None,
    ) -> None:
        """Write each feed's new polling state (`feeds` column -> value) in one transaction, with
        the notices that state change calls for (a pause marked as told is queued to be told)."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for feed_id, values in results:
            keys = tuple(sorted(values))
            groups.setdefault(keys, []).append({"_id": feed_id, **{f"_{k}": v for k, v in values.items()}})
        with self.engine.begin() as conn:
            for keys, params in groups.items():
                stmt = (
                    feeds.update()
                    .where(feeds.c.id == sa.bindparam("_id"))
                    .values({k: sa.bindparam(f"_{k}") for k in keys})
                )
                conn.execute(stmt, params)
            if notices:
                assert now is not None, "queued notices need the time they were queued"
                queue_notices(conn, notices, now)


def _hand_over_shared(conn: sa.Connection, feed_id: int) -> None:
    """Give each article of `feed_id` that another feed also carries to that feed (the lowest id),
    with the GUID that feed knows it by, so removing one feed loses no other feed's news."""
    other = article_feeds.alias("other")
    rows = conn.execute(
        sa.select(articles.c.id, other.c.feed_id, other.c.guid)
        .join(other, sa.and_(other.c.article_id == articles.c.id, other.c.feed_id != feed_id))
        .where(articles.c.feed_id == feed_id)
        .order_by(articles.c.id, other.c.feed_id, other.c.guid)
    ).all()
    heirs: dict[int, tuple[int, str]] = {}
    for r in rows:
        heirs.setdefault(r.id, (r.feed_id, r.guid))
    for article_id, (heir, guid) in heirs.items():
        conn.execute(articles.update().where(articles.c.id == article_id).values(feed_id=heir, guid=guid))
