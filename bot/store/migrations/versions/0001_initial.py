"""The first schema: feeds, articles, stories, subscriptions, digests and posted messages.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text),
        sa.Column("title", sa.Text),
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
    )
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("representative_id", sa.Integer),
        sa.Column("sources", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "articles",
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
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("entities", sa.JSON, nullable=False),
        sa.Column("shingles", sa.JSON, nullable=False),
        sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="SET NULL")),
        sa.UniqueConstraint("feed_id", "guid", name="uq_articles_feed_guid"),
    )
    op.create_index("ix_articles_canonical_url", "articles", ["canonical_url"])
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
    op.create_index("ix_articles_story_id", "articles", ["story_id"])
    op.create_index("ix_articles_first_seen_at", "articles", ["first_seen_at"])
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("schedule", sa.JSON, nullable=False),
        sa.Column("timezone", sa.Text, nullable=False),
        sa.Column("weekdays", sa.JSON, nullable=False),
        sa.Column("max_stories", sa.Integer),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("from_config", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("platform", "channel", name="uq_subscriptions_channel"),
    )
    op.create_table(
        "subscription_feeds",
        sa.Column(
            "subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("added_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scheduled_for", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("posted_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("subscription_id", "scheduled_for", name="uq_digests_slot"),
    )
    op.create_table(
        "digest_items",
        sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
        sa.UniqueConstraint("digest_id", "story_id", name="uq_digest_items_story"),
    )
    op.create_table(
        "posted_messages",
        sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("ref", sa.Text, nullable=False),
        sa.Column("thread_ref", sa.Text),
        sa.Column("posted_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "posted_messages",
        "digest_items",
        "digests",
        "subscription_feeds",
        "subscriptions",
        "articles",
        "stories",
        "feeds",
    ):
        op.drop_table(table)
