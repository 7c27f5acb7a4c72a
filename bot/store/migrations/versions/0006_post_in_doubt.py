"""Remember which message of a digest is being posted (`in_doubt`), so a run that died mid-post,
or lost the platform's answer, is followed by a look at the platform before anything is sent again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: a batch copy of `digests` on SQLite would cascade-delete its items
    op.add_column("digests", sa.Column("in_doubt", sa.Integer))


def downgrade() -> None:
    op.drop_column("digests", "in_doubt")
