"""`counters`: values every process reads, bumped in the transaction that moves them. The first is
"feed_removals", which `remove_feed` bumps, so a story index another process keeps in memory (it
holds the removed feed's articles, whose ids SQLite may give to new ones) is built again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # no rows yet: a counter's row is made the first time it moves (an empty database stays empty)
    op.create_table(
        "counters",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("counters")
