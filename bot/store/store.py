"""Store: every query the core runs, on SQLite or PostgreSQL through the same Core SQL.

Methods take and return plain values or the small row types below; each call is one
short transaction. Raises StorageError when the database cannot be used.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.errors import StorageError
from bot.models import ChannelRef
from bot.store import migrate
from bot.store.engine import create_engine
from bot.store.schema import (
    articles,
    digest_items,
    digests,
    feeds,
    posted_messages,
    stories,
    subscription_feeds,
    subscriptions,
)


@dataclass(frozen=True)
class FeedRow:
    id: int
    url: str
    name: str | None
    title: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_checked_at: datetime | None
    last_status: int | None
    last_error: str | None
    failure_count: int
    paused: bool
    from_config: bool

    @property
    def display_name(self) -> str:
        return self.name or self.title or self.url


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    channel: ChannelRef
    schedule: tuple[str, ...]
    timezone: str
    weekdays: tuple[str, ...]
    max_stories: int | None
    from_config: bool


@dataclass(frozen=True)
class StoredArticle:
    id: int
    feed_id: int
    source: str
    title: str
    url: str | None
    text: str
    published_at: datetime | None
    first_seen_at: datetime
    summary: list[str]
    entities: list[dict[str, Any]]
    story_id: int | None


@dataclass(frozen=True)
class DigestRow:
    id: int
    subscription_id: int
    scheduled_for: datetime
    status: str
    title: str
    story_ids: tuple[int, ...]  # in posting order; position = index + 1
    posted: dict[int, tuple[str, str | None]]  # position -> (ref, thread_ref)


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect and bring the schema up to date."""
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
        except sa.exc.OperationalError as exc:
            raise StorageError(
                f"cannot open the database {engine.url.render_as_string(hide_password=True)}: {exc.orig}"
            ) from None
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- feeds -------------------------------------------------------------------------

    def add_feed(self, url: str, now: datetime, *, name: str | None = None, from_config: bool = False) -> int:
        """The feed's id, inserting it first if it is new (an existing row keeps its state)."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(feeds.c.id, feeds.c.name, feeds.c.from_config).where(feeds.c.url == url)
            ).first()
            if row is None:
                return _new_id(
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
            return [_feed_row(r) for r in conn.execute(query)]

    def find_feed(self, url_or_id: str) -> FeedRow | None:
        query = sa.select(feeds)
        query = (
            query.where(feeds.c.id == int(url_or_id)) if url_or_id.isdigit() else query.where(feeds.c.url == url_or_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _feed_row(row) if row else None

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

    # --- subscriptions -----------------------------------------------------------------

    def upsert_subscription(
        self,
        channel: ChannelRef,
        now: datetime,
        *,
        schedule: Sequence[str] = (),
        timezone: str = "UTC",
        weekdays: Sequence[str] = (),
        max_stories: int | None = None,
        from_config: bool = False,
    ) -> int:
        values = {
            "schedule": list(schedule),
            "timezone": timezone,
            "weekdays": list(weekdays),
            "max_stories": max_stories,
            "from_config": from_config,
        }
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(subscriptions.c.id).where(
                    subscriptions.c.platform == channel.platform, subscriptions.c.channel == channel.channel
                )
            ).first()
            if row is None:
                return _new_id(
                    conn.execute(
                        subscriptions.insert().values(
                            platform=channel.platform, channel=channel.channel, created_at=now, **values
                        )
                    )
                )
            conn.execute(subscriptions.update().where(subscriptions.c.id == row.id).values(**values))
            return int(row.id)

    def ensure_subscription(self, channel: ChannelRef, now: datetime) -> int:
        """The channel's subscription id, creating an unscheduled one if it has none."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(subscriptions.c.id).where(
                    subscriptions.c.platform == channel.platform, subscriptions.c.channel == channel.channel
                )
            ).first()
        return int(row.id) if row else self.upsert_subscription(channel, now)

    def subscribe(self, subscription_id: int, feed_ids: Iterable[int], now: datetime) -> None:
        with self.engine.begin() as conn:
            have = set(
                conn.scalars(
                    sa.select(subscription_feeds.c.feed_id).where(
                        subscription_feeds.c.subscription_id == subscription_id
                    )
                )
            )
            for feed_id in dict.fromkeys(feed_ids):
                if feed_id not in have:
                    conn.execute(
                        subscription_feeds.insert().values(
                            subscription_id=subscription_id, feed_id=feed_id, added_at=now
                        )
                    )

    def subscriptions(self) -> list[SubscriptionRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(subscriptions).order_by(subscriptions.c.id)).all()
        return [
            SubscriptionRow(
                id=r.id,
                channel=ChannelRef(r.platform, r.channel),
                schedule=tuple(r.schedule),
                timezone=r.timezone,
                weekdays=tuple(r.weekdays),
                max_stories=r.max_stories,
                from_config=r.from_config,
            )
            for r in rows
        ]

    def subscribed_feed_ids(self, subscription_id: int) -> list[int]:
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    sa.select(subscription_feeds.c.feed_id)
                    .where(subscription_feeds.c.subscription_id == subscription_id)
                    .order_by(subscription_feeds.c.feed_id)
                )
            )

    def subscribers(self, feed_id: int) -> list[ChannelRef]:
        query = (
            sa.select(subscriptions.c.platform, subscriptions.c.channel)
            .join(subscription_feeds, subscription_feeds.c.subscription_id == subscriptions.c.id)
            .where(subscription_feeds.c.feed_id == feed_id)
        )
        with self.engine.connect() as conn:
            return [ChannelRef(r.platform, r.channel) for r in conn.execute(query)]

    # --- articles and stories ----------------------------------------------------------

    def known_article(self, feed_id: int, guid: str, canonical_url: str | None) -> bool:
        """True when this feed already has the GUID, or any feed has the canonical URL."""
        cond = sa.and_(articles.c.feed_id == feed_id, articles.c.guid == guid)
        if canonical_url:
            cond = sa.or_(cond, articles.c.canonical_url == canonical_url)
        with self.engine.connect() as conn:
            return conn.execute(sa.select(articles.c.id).where(cond).limit(1)).first() is not None

    def cluster_candidates(self, since: datetime) -> list[tuple[int, str, list[int]]]:
        """(story_id, content_hash, shingle sketch) of every clustered article seen since `since`."""
        query = sa.select(articles.c.story_id, articles.c.content_hash, articles.c.shingles).where(
            articles.c.first_seen_at >= since, articles.c.story_id.is_not(None)
        )
        with self.engine.connect() as conn:
            return [(r.story_id, r.content_hash, r.shingles) for r in conn.execute(query)]

    def add_article(self, values: dict[str, Any], story_id: int | None, now: datetime) -> tuple[int, int]:
        """Insert an article and put it in `story_id`, or in a new story; returns (article id, story id)."""
        with self.engine.begin() as conn:
            article_id = _new_id(conn.execute(articles.insert().values(**values)))
            index_article(conn, article_id, values["title"], values["summary"], values["entities"])
            if story_id is None:
                story_id = _new_id(
                    conn.execute(
                        stories.insert().values(
                            title=values["title"],
                            first_seen_at=now,
                            updated_at=now,
                            representative_id=article_id,
                            sources=1,
                        )
                    )
                )
            else:
                sources = conn.scalar(
                    sa.select(sa.func.count(sa.distinct(articles.c.feed_id))).where(
                        sa.or_(articles.c.story_id == story_id, articles.c.id == article_id)
                    )
                )
                conn.execute(stories.update().where(stories.c.id == story_id).values(updated_at=now, sources=sources))
            conn.execute(articles.update().where(articles.c.id == article_id).values(story_id=story_id))
        return article_id, story_id

    def story_articles(self, story_ids: Sequence[int]) -> dict[int, list[StoredArticle]]:
        """Each story's articles, oldest first, with their feed's display name as source."""
        query = (
            sa.select(
                articles,
                feeds.c.name.label("feed_name"),
                feeds.c.title.label("feed_title"),
                feeds.c.url.label("feed_url"),
            )
            .join(feeds, feeds.c.id == articles.c.feed_id)
            .where(articles.c.story_id.in_(list(story_ids)))
            .order_by(articles.c.id)
        )
        out: dict[int, list[StoredArticle]] = {sid: [] for sid in story_ids}
        with self.engine.connect() as conn:
            for r in conn.execute(query):
                out[r.story_id].append(
                    StoredArticle(
                        id=r.id,
                        feed_id=r.feed_id,
                        source=r.feed_name or r.feed_title or r.feed_url,
                        title=r.title,
                        url=r.url,
                        text=r.text,
                        published_at=r.published_at,
                        first_seen_at=r.first_seen_at,
                        summary=r.summary,
                        entities=r.entities,
                        story_id=r.story_id,
                    )
                )
        return out

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

    # --- digests -----------------------------------------------------------------------

    def create_digest(
        self, subscription_id: int, scheduled_for: datetime, title: str, story_ids: Sequence[int], now: datetime
    ) -> int | None:
        """Record a digest and its stories; None when that (subscription, time) slot already has one."""
        try:
            with self.engine.begin() as conn:
                digest_id = _new_id(
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


def index_article(
    conn: sa.Connection, article_id: int, title: str, summary: list[str], entities: list[dict[str, Any]]
) -> None:
    """Add an article to the full-text index (FTS5 on SQLite, a weighted tsvector on PostgreSQL)."""
    names = " ".join(str(e.get("text", "")) for e in entities)
    text = " ".join(summary)
    if conn.dialect.name == "sqlite":
        conn.execute(
            sa.text("INSERT INTO articles_fts (rowid, title, summary, entities) VALUES (:id, :t, :s, :e)"),
            {"id": article_id, "t": title, "s": text, "e": names},
        )
    else:
        conn.execute(
            sa.text(
                "INSERT INTO articles_fts (article_id, document) VALUES (:id, "
                "setweight(to_tsvector('english', :t), 'A') || setweight(to_tsvector('english', :s), 'B') || "
                "setweight(to_tsvector('simple', :e), 'A'))"
            ),
            {"id": article_id, "t": title, "s": text, "e": names},
        )


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _feed_row(r: Any) -> FeedRow:
    return FeedRow(
        id=r.id,
        url=r.url,
        name=r.name,
        title=r.title,
        etag=r.etag,
        last_modified=r.last_modified,
        body_hash=r.body_hash,
        last_checked_at=r.last_checked_at,
        last_status=r.last_status,
        last_error=r.last_error,
        failure_count=r.failure_count,
        paused=r.paused,
        from_config=r.from_config,
    )
