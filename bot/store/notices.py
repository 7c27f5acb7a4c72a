"""The notice outbox: feed trouble notices queued with the feed state that caused them, claimed
for posting under a short lease (two bot processes never post one twice), then marked sent, put
off for a retry, or dropped with the reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.models import ChannelRef
from bot.store.schema import notices


@dataclass(frozen=True)
class NoticeRow:
    id: int
    channel: ChannelRef
    text: str
    created_at: datetime
    attempts: int


def queue_notices(conn: sa.Connection, items: Sequence[tuple[ChannelRef, str]], now: datetime) -> None:
    """Queue notices inside the caller's transaction (the one that records why they are due)."""
    if items:
        conn.execute(
            notices.insert(),
            [
                {"platform": c.platform, "channel": c.channel, "text": t, "created_at": now, "next_attempt_at": now}
                for c, t in items
            ],
        )


class NoticeQueries:
    engine: Engine

    def claim_notices(self, now: datetime, lease_until: datetime, limit: int = 100) -> list[NoticeRow]:
        """Pending notices whose time has come, oldest first, held until `lease_until`."""
        due = (
            sa.select(notices.c.id)
            .where(notices.c.status == "pending", notices.c.next_attempt_at <= now)
            .order_by(notices.c.id)
            .limit(limit)
        )
        with self.engine.begin() as conn:
            ids = list(conn.scalars(due))
            if not ids:
                return []
            # re-checked under the row lock: of two processes claiming one notice, one gets it
            rows = conn.execute(
                notices.update()
                .where(notices.c.id.in_(ids), notices.c.status == "pending", notices.c.next_attempt_at <= now)
                .values(next_attempt_at=lease_until, attempts=notices.c.attempts + 1)
                .returning(
                    notices.c.id,
                    notices.c.platform,
                    notices.c.channel,
                    notices.c.text,
                    notices.c.created_at,
                    notices.c.attempts,
                )
            ).all()
        return sorted(
            (NoticeRow(r.id, ChannelRef(r.platform, r.channel), r.text, r.created_at, r.attempts) for r in rows),
            key=lambda n: n.id,
        )

    def notice_done(self, notice_id: int, now: datetime, *, sent: bool, error: str | None = None) -> None:
        """Mark a claimed notice sent, or dropped (`sent=False`) with the reason."""
        with self.engine.begin() as conn:
            conn.execute(
                notices.update()
                .where(notices.c.id == notice_id)
                .values(status="sent" if sent else "dropped", done_at=now, last_error=error)
            )

    def notice_retry(self, notice_id: int, at: datetime, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(notices.update().where(notices.c.id == notice_id).values(next_attempt_at=at, last_error=error))

    def notices_for(self, channel: ChannelRef) -> list[tuple[str, str, str | None]]:
        """(status, text, last error) of a channel's notices, oldest first."""
        query = (
            sa.select(notices.c.status, notices.c.text, notices.c.last_error)
            .where(notices.c.platform == channel.platform, notices.c.channel == channel.channel)
            .order_by(notices.c.id)
        )
        with self.engine.connect() as conn:
            return [(r.status, r.text, r.last_error) for r in conn.execute(query)]

    def prune_notices(self, older_than: datetime) -> int:
        """Forget notices that were sent or dropped before `older_than`."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    notices.delete().where(notices.c.status != "pending", notices.c.done_at < older_than)
                ).rowcount
            )
