"""Remember who last changed a channel's news (the person told by DM when posting there fails),
so a restart does not forget them. Existing rows get none until someone changes the channel.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: a batch copy of `subscriptions` on SQLite would cascade-delete its feeds
    op.add_column("subscriptions", sa.Column("manager", sa.Text))


def downgrade() -> None:
    op.drop_column("subscriptions", "manager")
