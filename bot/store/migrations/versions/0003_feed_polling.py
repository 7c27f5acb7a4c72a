"""Feed polling state: the adaptive interval, when a feed was paused and whether its channels
were told, and an index on next_check_at for picking due feeds. Existing rows upgrade in place
(no interval yet, not paused, nothing told).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN, not batch mode: on SQLite a batch would copy and drop
    # `feeds`, and dropping it cascades to every article (foreign keys are on).
    op.add_column("feeds", sa.Column("interval_seconds", sa.Integer))
    op.add_column("feeds", sa.Column("paused_at", UTCDateTime))
    op.add_column("feeds", sa.Column("pause_notified", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_feeds_next_check_at", "feeds", ["next_check_at"])


def downgrade() -> None:
    op.drop_index("ix_feeds_next_check_at", "feeds")
    # SQLite (3.35+) drops a plain column in place, so no table copy here either.
    for name in ("pause_notified", "paused_at", "interval_seconds"):
        op.drop_column("feeds", name)
