"""Housekeeping: prune old article bodies while keeping what dedupe and past digests need."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.store.schema import articles


class MaintenanceQueries:
    engine: Engine

    def prune_bodies(self, older_than: datetime, now: datetime) -> int:
        """Empty the text of articles first seen before `older_than`; returns how many.

        GUID, canonical URL, content hash, title, summary and entities stay, so an old item
        seen again is still recognised and old digests still render.
        """
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    articles.update()
                    .where(articles.c.first_seen_at < older_than, articles.c.pruned_at.is_(None))
                    .values(text="", pruned_at=now)
                ).rowcount
            )
