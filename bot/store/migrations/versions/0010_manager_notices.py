"""Notices to a person: a `recipient` (the platform user a notice is sent to directly, instead of
to the channel) and the posting `problem` it is about, one per channel until a digest there posts
again (a unique partial index), so a restart neither repeats nor forgets telling the manager.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notices", sa.Column("recipient", sa.Text))
    op.add_column("notices", sa.Column("problem", sa.Text))
    op.create_index(
        "ux_notices_channel_problem",
        "notices",
        ["platform", "channel", "problem"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ux_notices_channel_problem", table_name="notices")
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("problem")
        batch.drop_column("recipient")
