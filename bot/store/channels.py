"""Subscriptions: a channel, its schedule and settings, and the feeds it follows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.models import ChannelRef
from bot.store.rows import FeedRow, SubscriptionRow, feed_row
from bot.store.schema import feeds, subscription_feeds, subscriptions
from bot.store.upsert import insert_missing

# settings a command may change; anything else is fixed at creation
SETTINGS = {
    "schedule",
    "timezone",
    "weekdays",
    "max_stories",
    "follows",
    "follow_only",
    "summary_sentences",
    "no_news_line",
    "config_digest",
    "from_config",
    "updates",
}


class ChannelQueries:
    engine: Engine

    def _subscription_id(self, conn: sa.Connection, channel: ChannelRef) -> int | None:
        row = conn.execute(
            sa.select(subscriptions.c.id).where(
                subscriptions.c.platform == channel.platform, subscriptions.c.channel == channel.channel
            )
        ).first()
        return int(row.id) if row else None

    def upsert_subscription(self, channel: ChannelRef, now: datetime, **values: Any) -> int:
        """Create the channel's subscription, or change the given settings of the existing one."""
        unknown = set(values) - SETTINGS
        if unknown:
            raise TypeError(f"not subscription settings: {sorted(unknown)}")
        for key in ("schedule", "weekdays", "follows"):
            if key in values:
                values[key] = list(values[key])
        with self.engine.begin() as conn:
            sub_id = self._subscription_id(conn, channel)
            if sub_id is None:
                defaults: dict[str, Any] = {"schedule": [], "timezone": "UTC", "weekdays": [], "follows": []}
                row = {"platform": channel.platform, "channel": channel.channel, "created_at": now}
                # a process starting alongside may create it first; then its row gets these values below
                inserted = insert_missing(conn, subscriptions, [row | defaults | values], ["platform", "channel"])
                sub_id = self._subscription_id(conn, channel)
                assert sub_id is not None
                if inserted:
                    return sub_id
            if values:
                conn.execute(subscriptions.update().where(subscriptions.c.id == sub_id).values(**values))
            return sub_id

    def ensure_subscription(self, channel: ChannelRef, now: datetime) -> int:
        """The channel's subscription id, creating an unscheduled one if it has none."""
        with self.engine.connect() as conn:
            sub_id = self._subscription_id(conn, channel)
        return sub_id if sub_id is not None else self.upsert_subscription(channel, now)

    def set_manager(self, channel: ChannelRef, user: str) -> None:
        """Record who last changed the channel's news (no-op for a channel without a subscription)."""
        with self.engine.begin() as conn:
            conn.execute(
                subscriptions.update()
                .where(subscriptions.c.platform == channel.platform, subscriptions.c.channel == channel.channel)
                .values(manager=user)
            )

    def channel_manager(self, channel: ChannelRef) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(
                sa.select(subscriptions.c.manager).where(
                    subscriptions.c.platform == channel.platform, subscriptions.c.channel == channel.channel
                )
            )

    def subscription(self, channel: ChannelRef) -> SubscriptionRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(subscriptions).where(
                    subscriptions.c.platform == channel.platform, subscriptions.c.channel == channel.channel
                )
            ).first()
        return _subscription_row(row) if row else None

    def subscription_by_id(self, subscription_id: int) -> SubscriptionRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
        return _subscription_row(row) if row else None

    def subscriptions(self) -> list[SubscriptionRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(subscriptions).order_by(subscriptions.c.id)).all()
        return [_subscription_row(r) for r in rows]

    def subscribe(
        self, subscription_id: int, feed_ids: Iterable[int], now: datetime, *, settle_backlog: bool = True
    ) -> list[int]:
        """Link feeds to the subscription; returns the feed ids that were new to it.

        With `settle_backlog`, a new link starts unsettled: at its first digest, the feed's
        items older than the newest few count as seen (no flood on subscribe).
        """
        added = []
        with self.engine.begin() as conn:
            have = set(
                conn.scalars(
                    sa.select(subscription_feeds.c.feed_id).where(
                        subscription_feeds.c.subscription_id == subscription_id
                    )
                )
            )
            for feed_id in dict.fromkeys(feed_ids):
                link = {
                    "subscription_id": subscription_id,
                    "feed_id": feed_id,
                    "added_at": now,
                    "backlog_settled": not settle_backlog,
                }
                # not counted as new when a process alongside linked it first
                if feed_id not in have and insert_missing(
                    conn, subscription_feeds, [link], ["subscription_id", "feed_id"]
                ):
                    added.append(feed_id)
        return added

    def unsubscribe(self, subscription_id: int, feed_id: int) -> tuple[bool, bool]:
        """Unlink a feed: (was it linked, is it now unused and not declared in the config)."""
        with self.engine.begin() as conn:
            gone = conn.execute(
                subscription_feeds.delete().where(
                    subscription_feeds.c.subscription_id == subscription_id, subscription_feeds.c.feed_id == feed_id
                )
            ).rowcount
            if not gone:
                return False, False
            still_used = conn.execute(
                sa.select(subscription_feeds.c.feed_id).where(subscription_feeds.c.feed_id == feed_id).limit(1)
            ).first()
            from_config = conn.scalar(sa.select(feeds.c.from_config).where(feeds.c.id == feed_id))
        return True, still_used is None and not from_config

    def unsettled_feeds(self, subscription_id: int) -> list[int]:
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    sa.select(subscription_feeds.c.feed_id).where(
                        subscription_feeds.c.subscription_id == subscription_id,
                        subscription_feeds.c.backlog_settled.is_(False),
                    )
                )
            )

    def subscribed_feed_ids(self, subscription_id: int) -> list[int]:
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    sa.select(subscription_feeds.c.feed_id)
                    .where(subscription_feeds.c.subscription_id == subscription_id)
                    .order_by(subscription_feeds.c.feed_id)
                )
            )

    def subscribed_feeds(self, subscription_id: int) -> list[FeedRow]:
        query = (
            sa.select(feeds)
            .join(subscription_feeds, subscription_feeds.c.feed_id == feeds.c.id)
            .where(subscription_feeds.c.subscription_id == subscription_id)
            .order_by(feeds.c.id)
        )
        with self.engine.connect() as conn:
            return [feed_row(r) for r in conn.execute(query)]

    def subscribers(self, feed_id: int) -> list[ChannelRef]:
        query = (
            sa.select(subscriptions.c.platform, subscriptions.c.channel)
            .join(subscription_feeds, subscription_feeds.c.subscription_id == subscriptions.c.id)
            .where(subscription_feeds.c.feed_id == feed_id)
        )
        with self.engine.connect() as conn:
            return [ChannelRef(r.platform, r.channel) for r in conn.execute(query)]


def _subscription_row(r: Any) -> SubscriptionRow:
    return SubscriptionRow(
        id=r.id,
        channel=ChannelRef(r.platform, r.channel),
        schedule=tuple(r.schedule),
        timezone=r.timezone,
        weekdays=tuple(r.weekdays),
        max_stories=r.max_stories,
        from_config=r.from_config,
        follows=tuple(r.follows),
        follow_only=r.follow_only,
        summary_sentences=r.summary_sentences,
        no_news_line=r.no_news_line,
        config_digest=r.config_digest,
        created_at=r.created_at,
        updates=r.updates,
    )
