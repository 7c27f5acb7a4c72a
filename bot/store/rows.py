"""Small helpers shared by the query modules; the records they return are bot.models'."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.models import DigestRow, FeedRow, StoredArticle, SubscriptionRow, ToldStory

__all__ = ["DigestRow", "FeedRow", "StoredArticle", "SubscriptionRow", "ToldStory", "feed_row", "new_id"]


def new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def feed_row(r: Any) -> FeedRow:
    return FeedRow(
        id=r.id,
        url=r.url,
        name=r.name,
        title=r.title,
        etag=r.etag,
        last_modified=r.last_modified,
        body_hash=r.body_hash,
        last_checked_at=r.last_checked_at,
        last_status=r.last_status,
        last_error=r.last_error,
        failure_count=r.failure_count,
        paused=r.paused,
        from_config=r.from_config,
    )
