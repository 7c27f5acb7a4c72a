"""An article belongs to every feed that carries it (`article_feeds`), and feeds get a `url_key`
so tracking-parameter or trailing-slash variants of a feed's address are found as the same feed.

Each existing article is linked to its own feed. Every feed's cache validators and body hash are
cleared, so the next poll reads each feed in full once and links the items another feed fetched
first (before this revision they were dropped as duplicates and their channels never got them).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.ingest.urls import feed_key
from bot.store.schema import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_feeds",
        sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("guid", sa.Text, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_article_feeds_article_id", "article_feeds", ["article_id"])
    op.execute(
        "INSERT INTO article_feeds (feed_id, guid, article_id, first_seen_at) "
        "SELECT feed_id, guid, id, first_seen_at FROM articles"
    )
    # plain ADD COLUMN: a batch copy of `feeds` on SQLite would cascade-delete its articles and links
    op.add_column("feeds", sa.Column("url_key", sa.Text))
    op.create_index("ix_feeds_url_key", "feeds", ["url_key"])
    conn = op.get_bind()
    feeds = sa.table("feeds", sa.column("id", sa.Integer), sa.column("url", sa.Text), sa.column("url_key", sa.Text))
    rows = conn.execute(sa.select(feeds.c.id, feeds.c.url)).all()
    if rows:
        conn.execute(
            feeds.update().where(feeds.c.id == sa.bindparam("_id")).values(url_key=sa.bindparam("_key")),
            [{"_id": r.id, "_key": feed_key(r.url)} for r in rows],
        )
    op.execute("UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = NULL")


def downgrade() -> None:
    op.drop_index("ix_feeds_url_key", table_name="feeds")
    op.drop_column("feeds", "url_key")
    op.drop_index("ix_article_feeds_article_id", table_name="article_feeds")
    op.drop_table("article_feeds")
