"""The notice outbox: feed trouble notices queued with the feed state that caused them, and DMs to
a channel's manager about posting trouble (once per channel and problem until a digest there posts
again), claimed for posting under a short lease (another process takes one over only when its lease
has run out), then marked sent, put off for a retry, or dropped with the reason, by the lease holder alone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.models import ChannelRef, NoticeRow
from bot.store.schema import notices, subscriptions
from bot.store.upsert import dialect_of


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


def forget_problems(conn: sa.Connection, channel: ChannelRef) -> None:
    """A digest posted in the channel: its posting problems are over, so a new one is told again."""
    conn.execute(
        notices.update()
        .where(
            notices.c.platform == channel.platform,
            notices.c.channel == channel.channel,
            notices.c.problem.is_not(None),
        )
        .values(problem=None)
    )


class NoticeQueries:
    engine: Engine

    def claim_notices(
        self, now: datetime, lease_until: datetime, platforms: Sequence[str], limit: int = 1
    ) -> list[NoticeRow]:
        """Pending notices for these platforms whose time has come, oldest first, held until `lease_until`.

        A process claims only what its adapters can post: `newsbot poll --once` without Slack
        leaves Slack's notices to the bot that has it."""
        if not platforms:
            return []
        due = (
            sa.select(notices.c.id)
            .where(
                notices.c.status == "pending",
                notices.c.next_attempt_at <= now,
                notices.c.platform.in_(list(platforms)),
            )
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
                    notices.c.recipient,
                )
            ).all()
        return sorted(
            (
                NoticeRow(r.id, ChannelRef(r.platform, r.channel), r.text, r.created_at, r.attempts, r.recipient)
                for r in rows
            ),
            key=lambda n: n.id,
        )

    def queue_manager_notice(self, channel: ChannelRef, problem: str, text: str, now: datetime) -> str | None:
        """Queue a DM about `problem` to whoever last changed the channel's news, unless the channel
        has none or they were told of this problem since a digest there last posted. Returns the
        recipient when queued. Two processes failing at once queue it once (the unique partial index)."""
        manager = sa.select(subscriptions.c.manager).where(
            subscriptions.c.platform == channel.platform, subscriptions.c.channel == channel.channel
        )
        with self.engine.begin() as conn:
            recipient = conn.scalar(manager)
            if not recipient:
                return None
            dialect = dialect_of(conn)
            row = {
                "platform": channel.platform,
                "channel": channel.channel,
                "recipient": recipient,
                "problem": problem,
                "text": text,
                "created_at": now,
                "next_attempt_at": now,
            }
            stmt = (
                dialect.insert(notices)
                .values(row)
                # NULLs are distinct in a unique index on both databases, so only rows with a problem
                # collide: a plain index (no dialect-specific WHERE, which would load every dialect)
                .on_conflict_do_nothing(index_elements=["platform", "channel", "problem"])
                .returning(notices.c.id)
            )
            queued = conn.execute(stmt).first() is not None
        return recipient if queued else None

    def notice_done(
        self, notice_id: int, lease_until: datetime, now: datetime, *, sent: bool, error: str | None = None
    ) -> bool:
        """Mark a notice we still hold sent, or dropped (`sent=False`) with the reason; False if the lease was lost."""
        return self._settle_notice(
            notice_id, lease_until, status="sent" if sent else "dropped", done_at=now, last_error=error
        )

    def notice_retry(self, notice_id: int, lease_until: datetime, at: datetime, error: str) -> bool:
        """Put a notice we still hold off until `at`; False if the lease was lost."""
        return self._settle_notice(notice_id, lease_until, next_attempt_at=at, last_error=error)

    def _settle_notice(self, notice_id: int, lease_until: datetime, **values: Any) -> bool:
        with self.engine.begin() as conn:
            changed = conn.execute(
                notices.update()
                .where(
                    notices.c.id == notice_id,
                    notices.c.status == "pending",
                    notices.c.next_attempt_at == lease_until,
                )
                .values(**values)
            ).rowcount
        return bool(changed)

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
        """Forget notices done before `older_than`, and any still pending that were queued before it
        (past a day they are dropped anyway; what is left is for a platform no process posts to).
        A DM about a problem that still stands is kept: it is what says the manager was told."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    notices.delete().where(
                        notices.c.problem.is_(None),
                        sa.or_(
                            sa.and_(notices.c.status != "pending", notices.c.done_at < older_than),
                            sa.and_(notices.c.status == "pending", notices.c.created_at < older_than),
                        ),
                    )
                ).rowcount
            )
