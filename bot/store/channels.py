"""Subscriptions: a channel, its schedule and settings, and the feeds it follows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.models import ChannelRef
from bot.store.rows import SubscriptionRow, new_id
from bot.store.schema import (
    subscription_feeds,
    subscriptions,
)


class ChannelQueries:
    engine: Engine

    def upsert_subscription(
        self,
        channel: ChannelRef,
        now: datetime,
        *,
        schedule: Sequence[str] = (),
        timezone: str = "UTC",
        weekdays: Sequence[str] = (),
        max_stories: int | None = None,
        from_config: bool = False,
    ) -> int:
        values = {
            "schedule": list(schedule),
            "timezone": timezone,
            "weekdays": list(weekdays),
            "max_stories": max_stories,
            "from_config": from_config,
        }
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(subscriptions.c.id).where(
                    subscriptions.c.platform == channel.platform, subscriptions.c.channel == channel.channel
                )
            ).first()
            if row is None:
                return new_id(
                    conn.execute(
                        subscriptions.insert().values(
                            platform=channel.platform, channel=channel.channel, created_at=now, **values
                        )
                    )
                )
            conn.execute(subscriptions.update().where(subscriptions.c.id == row.id).values(**values))
            return int(row.id)

    def ensure_subscription(self, channel: ChannelRef, now: datetime) -> int:
        """The channel's subscription id, creating an unscheduled one if it has none."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(subscriptions.c.id).where(
                    subscriptions.c.platform == channel.platform, subscriptions.c.channel == channel.channel
                )
            ).first()
        return int(row.id) if row else self.upsert_subscription(channel, now)

    def subscribe(self, subscription_id: int, feed_ids: Iterable[int], now: datetime) -> None:
        with self.engine.begin() as conn:
            have = set(
                conn.scalars(
                    sa.select(subscription_feeds.c.feed_id).where(
                        subscription_feeds.c.subscription_id == subscription_id
                    )
                )
            )
            for feed_id in dict.fromkeys(feed_ids):
                if feed_id not in have:
                    conn.execute(
                        subscription_feeds.insert().values(
                            subscription_id=subscription_id, feed_id=feed_id, added_at=now
                        )
                    )

    def subscriptions(self) -> list[SubscriptionRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(subscriptions).order_by(subscriptions.c.id)).all()
        return [
            SubscriptionRow(
                id=r.id,
                channel=ChannelRef(r.platform, r.channel),
                schedule=tuple(r.schedule),
                timezone=r.timezone,
                weekdays=tuple(r.weekdays),
                max_stories=r.max_stories,
                from_config=r.from_config,
            )
            for r in rows
        ]

    def subscribed_feed_ids(self, subscription_id: int) -> list[int]:
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    sa.select(subscription_feeds.c.feed_id)
                    .where(subscription_feeds.c.subscription_id == subscription_id)
                    .order_by(subscription_feeds.c.feed_id)
                )
            )

    def subscribers(self, feed_id: int) -> list[ChannelRef]:
        query = (
            sa.select(subscriptions.c.platform, subscriptions.c.channel)
            .join(subscription_feeds, subscription_feeds.c.subscription_id == subscriptions.c.id)
            .where(subscription_feeds.c.feed_id == feed_id)
        )
        with self.engine.connect() as conn:
            return [ChannelRef(r.platform, r.channel) for r in conn.execute(query)]
