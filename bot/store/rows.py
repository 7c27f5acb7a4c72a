"""Plain row types the store hands to the core, and small helpers shared by the query modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.models import ChannelRef


@dataclass(frozen=True)
class FeedRow:
    id: int
    url: str
    name: str | None
    title: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_checked_at: datetime | None
    last_status: int | None
    last_error: str | None
    failure_count: int
    paused: bool
    from_config: bool

    @property
    def display_name(self) -> str:
        return self.name or self.title or self.url

    @property
    def state(self) -> str:
        """How the feed is doing, in words for people: ok, failing, paused, not fetched yet."""
        if self.paused:
            return f"paused after {self.failure_count} failures; last error: {self.last_error}"
        if self.last_error:
            return f"failing ({self.failure_count}x); last error: {self.last_error}"
        if self.last_checked_at is None:
            return "not fetched yet"
        return "ok"


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    channel: ChannelRef
    schedule: tuple[str, ...]
    timezone: str
    weekdays: tuple[str, ...]
    max_stories: int | None
    from_config: bool
    follows: tuple[str, ...] = ()
    follow_only: bool = False
    summary_sentences: int | None = None
    no_news_line: bool = False
    config_digest: str | None = None
    created_at: datetime | None = None
    updates: bool | None = None  # follow-ups of told stories; None: the config's digest.updates


@dataclass(frozen=True)
class StoredArticle:
    id: int
    feed_id: int
    source: str
    title: str
    url: str | None
    text: str
    published_at: datetime | None
    first_seen_at: datetime
    summary: list[str]
    entities: list[dict[str, Any]]
    story_id: int | None


@dataclass(frozen=True)
class DigestRow:
    id: int
    subscription_id: int
    scheduled_for: datetime
    status: str
    title: str
    story_ids: tuple[int, ...]  # in posting order; position = index + 1
    posted: dict[int, tuple[str, str | None]]  # position -> (ref, thread_ref)
    kind: str = "scheduled"  # scheduled | manual | backlog
    created_at: datetime | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    in_doubt: int | None = None  # a position that may be on the platform without being recorded
    last_error: str | None = None
    # follow-ups, after the stories: (position, story id, what it posts)
    updates: tuple[tuple[int, int, dict[str, Any]], ...] = ()


@dataclass(frozen=True)
class ToldStory:
    """A story a channel was told: its first message, and when it was last told (story or update)."""

    story_id: int
    ref: str
    thread_ref: str | None
    told_at: datetime
    earlier: tuple[str, ...]  # sentences its earlier follow-ups posted


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
