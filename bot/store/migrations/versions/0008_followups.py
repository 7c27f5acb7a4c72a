"""Follow-ups: a digest's items are stories or updates of stories told before (`kind`, with what the
update says in `detail`, fixed at planning so a resumed digest posts the same text), and a channel
may turn updates off (`subscriptions.updates`; NULL follows the config's digest.updates).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs: a batch copy of these tables on SQLite would cascade-delete their rows
    op.add_column("digest_items", sa.Column("kind", sa.Text, nullable=False, server_default="story"))
    op.add_column("digest_items", sa.Column("detail", sa.JSON))
    op.add_column("subscriptions", sa.Column("updates", sa.Boolean))


def downgrade() -> None:
    op.drop_column("subscriptions", "updates")
    op.drop_column("digest_items", "detail")
    op.drop_column("digest_items", "kind")
