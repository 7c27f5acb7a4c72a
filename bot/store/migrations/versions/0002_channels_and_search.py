"""Channel settings (follows, summary length, no-news line), the no-flood backlog flag,
digest kinds and leases, body pruning,
and the full-text search index (SQLite FTS5, PostgreSQL tsvector + GIN), backfilled from the
articles already stored.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from bot.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN with constant defaults: batch mode would copy and drop the tables on
    # SQLite, and the drop cascades through every table that references them
    add = op.add_column
    add("subscriptions", sa.Column("follows", sa.JSON, nullable=False, server_default="[]"))
    add("subscriptions", sa.Column("follow_only", sa.Boolean, nullable=False, server_default=sa.false()))
    add("subscriptions", sa.Column("summary_sentences", sa.Integer))
    add("subscriptions", sa.Column("no_news_line", sa.Boolean, nullable=False, server_default=sa.false()))
    add("subscriptions", sa.Column("config_digest", sa.Text))
    # existing links were made before the no-flood rule: their backlog counts as settled
    add("subscription_feeds", sa.Column("backlog_settled", sa.Boolean, nullable=False, server_default=sa.true()))
    add("digests", sa.Column("kind", sa.Text, nullable=False, server_default="scheduled"))
    add("digests", sa.Column("claimed_by", sa.Text))
    add("digests", sa.Column("claimed_until", UTCDateTime))
    add("articles", sa.Column("pruned_at", UTCDateTime))

    if op.get_bind().dialect.name == "sqlite":
        # the rowid is the article id; porter stemming so "sanctions" finds "sanction"
        op.execute(
            "CREATE VIRTUAL TABLE articles_fts USING fts5(title, summary, entities, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        op.execute(
            "INSERT INTO articles_fts (rowid, title, summary, entities) "
            "SELECT id, title, (SELECT group_concat(value, ' ') FROM json_each(articles.summary)), "
            "(SELECT group_concat(json_extract(value, '$.text'), ' ') FROM json_each(articles.entities)) "
            "FROM articles"
        )
    else:
        op.create_table(
            "articles_fts",
            sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
            sa.Column("document", postgresql.TSVECTOR, nullable=False),
        )
        op.create_index("ix_articles_fts_document", "articles_fts", ["document"], postgresql_using="gin")
        op.execute(
            "INSERT INTO articles_fts (article_id, document) SELECT id, "
            "setweight(to_tsvector('english', title), 'A') || "
            "setweight(to_tsvector('english', coalesce((SELECT string_agg(x, ' ') "
            "FROM json_array_elements_text(summary) x), '')), 'B') || "
            "setweight(to_tsvector('simple', coalesce((SELECT string_agg(e->>'text', ' ') "
            "FROM json_array_elements(entities) e), '')), 'A') FROM articles"
        )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS articles_fts")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("pruned_at")
    with op.batch_alter_table("digests") as batch:
        for name in ("claimed_until", "claimed_by", "kind"):
            batch.drop_column(name)
    with op.batch_alter_table("subscription_feeds") as batch:
        batch.drop_column("backlog_settled")
    with op.batch_alter_table("subscriptions") as batch:
        for name in ("config_digest", "no_news_line", "summary_sentences", "follow_only", "follows"):
            batch.drop_column(name)
