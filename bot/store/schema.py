"""The current database schema as SQLAlchemy Core tables.

Migrations under migrations/versions/ build exactly this; a test compares the two.
Datetimes are stored as UTC and always come back timezone-aware. The full-text index
`articles_fts` differs per backend (FTS5 / tsvector), so it lives only in migration 0002.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


metadata = sa.MetaData()

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text),  # user's name for it; falls back to `title`
    sa.Column("title", sa.Text),  # the feed's own title
    sa.Column("added_at", UTCDateTime, nullable=False),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("body_hash", sa.Text),
    sa.Column("last_checked_at", UTCDateTime),
    sa.Column("next_check_at", UTCDateTime),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("failure_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("from_config", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("interval_seconds", sa.Integer),  # learnt from the feed's posting rate; NULL until parsed
    sa.Column("paused_at", UTCDateTime),
    sa.Column("pause_notified", sa.Boolean, nullable=False, server_default=sa.false()),  # channels told it is paused
    # bot.ingest.urls.feed_key(url): tracking parameters, host case and a trailing slash make no new feed
    sa.Column("url_key", sa.Text),
    sa.Index("ix_feeds_next_check_at", "next_check_at"),
    sa.Index("ix_feeds_url_key", "url_key"),
)

stories = sa.Table(
    "stories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("representative_id", sa.Integer),  # articles.id; no FK: the two tables point at each other
    sa.Column("sources", sa.Integer, nullable=False, server_default="1"),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    sa.Column("guid", sa.Text, nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("canonical_url", sa.Text),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("author", sa.Text),
    sa.Column("published_at", UTCDateTime),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("content_hash", sa.Text, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),  # list of sentences
    sa.Column("entities", sa.JSON, nullable=False),  # ranked KeyEntity dicts
    sa.Column("shingles", sa.JSON, nullable=False),  # hashed word shingles for near-duplicate checks
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="SET NULL")),
    sa.Column("pruned_at", UTCDateTime),  # body dropped after retention; dedupe keys kept
    sa.UniqueConstraint("feed_id", "guid", name="uq_articles_feed_guid"),
    sa.Index("ix_articles_canonical_url", "canonical_url"),
    sa.Index("ix_articles_content_hash", "content_hash"),
    sa.Index("ix_articles_story_id", "story_id"),
    sa.Index("ix_articles_first_seen_at", "first_seen_at"),
)

# Every feed that carries an article, under the GUID that feed gives it: an article is stored once
# (owned by articles.feed_id, the feed that fetched it first) but belongs to all the feeds that list
# it, so each of their channels gets it. Per-feed GUID dedupe looks here.
article_feeds = sa.Table(
    "article_feeds",
    metadata,
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("guid", sa.Text, primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),  # when this feed first listed it
    sa.Index("ix_article_feeds_article_id", "article_id"),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("schedule", sa.JSON, nullable=False),  # ["08:00", ...] local times
    sa.Column("timezone", sa.Text, nullable=False),
    sa.Column("weekdays", sa.JSON, nullable=False),  # ["mon", ...]
    sa.Column("max_stories", sa.Integer),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("from_config", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("follows", sa.JSON, nullable=False, server_default="[]"),  # entities or keywords ranked first
    sa.Column("follow_only", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("summary_sentences", sa.Integer),
    sa.Column("no_news_line", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("config_digest", sa.Text),  # hash of the [[subscriptions]] entry last applied
    # the platform user who last changed the channel's news: who hears by DM when posting fails
    sa.Column("manager", sa.Text),
    sa.Column("updates", sa.Boolean),  # follow-ups of told stories; NULL: the config's digest.updates
    sa.UniqueConstraint("platform", "channel", name="uq_subscriptions_channel"),
)

subscription_feeds = sa.Table(
    "subscription_feeds",
    metadata,
    sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("added_at", UTCDateTime, nullable=False),
    # false until the feed's items older than the newest few are marked seen for this channel
    sa.Column("backlog_settled", sa.Boolean, nullable=False, server_default=sa.true()),
)

digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("scheduled_for", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # pending | posted | empty
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("posted_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("kind", sa.Text, nullable=False, server_default="scheduled"),  # scheduled | manual
    sa.Column("claimed_by", sa.Text),  # the worker posting it, while its lease lasts
    sa.Column("claimed_until", UTCDateTime),
    # the position (0 = parent) being posted or whose answer was lost: looked for on the platform
    # before it is posted again
    sa.Column("in_doubt", sa.Integer),
    sa.UniqueConstraint("subscription_id", "scheduled_for", name="uq_digests_slot"),
)

digest_items = sa.Table(
    "digest_items",
    metadata,
    sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),  # 1.. in posting order
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    # story: told for the first time; update: a follow-up of a story told before, `detail` saying what
    # it posts (fixed at planning, so a resumed digest posts the same text)
    sa.Column("kind", sa.Text, nullable=False, server_default="story"),
    sa.Column("detail", sa.JSON),
    sa.UniqueConstraint("digest_id", "story_id", name="uq_digest_items_story"),
)

posted_messages = sa.Table(
    "posted_messages",
    metadata,
    sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),  # 0 is the parent message, then digest_items.position
    sa.Column("ref", sa.Text, nullable=False),  # platform message id (Slack ts, Discord id, console line)
    sa.Column("thread_ref", sa.Text),
    sa.Column("posted_at", UTCDateTime, nullable=False),
)

# Notices waiting to be said: feed trouble ("paused", "works again") in a channel, written in the
# same transaction that marks the feed's channels as told, and posting trouble told to the channel's
# manager by DM; posted with retries, so neither a crash nor a platform error loses one.
notices = sa.Table(
    "notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),  # also the lease while one is being posted
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),  # pending | sent | dropped
    sa.Column("last_error", sa.Text),
    sa.Column("done_at", UTCDateTime),
    sa.Column("recipient", sa.Text),  # a platform user told directly (a DM), instead of the channel
    # the posting problem a DM to the channel's manager is about: one per channel and problem while it
    # stands; cleared (NULL) when a digest there posts again, so the next time is told again
    sa.Column("problem", sa.Text),
    sa.Index("ix_notices_status_next_attempt_at", "status", "next_attempt_at"),
    sa.Index(
        "ux_notices_channel_problem",
        "platform",
        "channel",
        "problem",
        unique=True,
    ),
)

# Counters every process sees and bumps in the transaction that makes them move. "feed_removals":
# feeds removed with their articles, so a story index cached by any process knows it is stale.
counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.Integer, nullable=False, server_default="0"),
)
FEED_REMOVALS = "feed_removals"
