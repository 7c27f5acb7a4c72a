"""The Protocols the core talks through: chat adapters, the clock, and storage.

Adapters implement ChatAdapter and are handed to the core by bot.app; the core
never imports a platform library. Time always comes from a Clock so tests can
move it instead of sleeping.

Storage is seen through one small port per consumer (commands, digests, delivery, ingest,
maintenance), each the store calls that consumer makes. They are synchronous: a consumer hands a
unit of work over its port to bot.storage.Storage, which runs it off the event loop. bot.store.Store
implements them all on SQLite and PostgreSQL; tests/memory_store.py implements them in memory.
Every method raises bot.errors.StorageError (never a driver's error) when the database fails.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from bot.models import (
    AppliedPlan,
    Candidate,
    ChannelRef,
    ClusterPlan,
    CommandRequest,
    Digest,
    DigestRow,
    DigestStory,
    DigestUpdate,
    FeedChoice,
    FeedRow,
    FeedSchedule,
    FoundPosts,
    NoticeRow,
    PostedMessage,
    Reply,
    SearchHit,
    StoredArticle,
    SubscriptionRow,
    ToldStory,
)

CommandHandler = Callable[[CommandRequest], Awaitable[Reply]]
# is this platform message recorded by some digest already? (it cannot be another digest's lost parent)
Taken = Callable[[str], Awaitable[bool]]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ChatAdapter(Protocol):
    """Posts one message at a time so the core can record each one as it goes.

    A digest is a parent message, then one reply per story in the parent's thread. Every digest
    message carries `digest.key` and its position where the platform keeps it, so `find_posted`
    can tell afterwards what the platform already shows.
    Raise bot.errors.PostError when the platform refuses; the digest stays pending. Raise it with
    `unknown=True` when the answer was lost and the message may exist: never resend it yourself.
    Give it a `reason` from bot.errors.NEEDS_MANAGER when a person must fix something in the channel:
    the core, not the adapter, tells the channel's manager (through the notices outbox).
    """

    name: str

    async def post_parent(self, channel: ChannelRef, digest: Digest) -> PostedMessage: ...

    async def post_notice(self, channel: ChannelRef, text: str) -> PostedMessage:
        """A plain message to the channel, e.g. that one of its feeds was paused."""
        ...

    async def post_direct(self, channel: ChannelRef, user: str, text: str) -> PostedMessage:
        """A plain private message to platform user `user` about `channel` (e.g. that digests cannot be
        posted there); where `text` names the channel as str(channel), the adapter may link it."""
        ...

    async def post_story(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage, story: DigestStory, position: int
    ) -> PostedMessage: ...

    async def post_update(self, channel: ChannelRef, digest: Digest, update: DigestUpdate) -> PostedMessage:
        """A follow-up as a reply in the story's earlier thread (`update.reply_to`), carrying
        `digest.key` and `update.position` like any other message of the digest."""
        ...

    async def find_posted(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage | None, *, taken: Taken | None = None
    ) -> FoundPosts:
        """What the platform already shows of this digest: the parent (looked for in the channel when
        `parent` is None, passing over messages `taken` says are recorded), the stories in its
        thread, and the digest's updates in their stories' earlier threads (by position). Raise
        PostError when it cannot be read."""
        ...


@runtime_checkable
class CommandSource(Protocol):
    """An adapter that also takes commands from its platform (slash commands, app commands).

    `start` connects or starts listening and returns; every command it receives is answered
    through `handle`. `stop` disconnects. Both are called by the long-running `newsbot run`.
    """

    async def start(self, handle: CommandHandler) -> None: ...

    async def stop(self) -> None: ...


class ChannelLookup(Protocol):
    """What adapters read about a channel: its feeds and topics for autocomplete (bot.commands
    provides it). Each is one unit of work off the event loop."""

    async def channel_feeds(self, channel: ChannelRef) -> Sequence[FeedChoice]: ...

    async def channel_follows(self, channel: ChannelRef) -> Sequence[str]: ...


@runtime_checkable
class UsesChannelLookup(Protocol):
    """An adapter that reads channels through a ChannelLookup (autocomplete)."""

    lookup: ChannelLookup | None


# --- storage ports ---------------------------------------------------------------------------


class ChannelQueries(Protocol):
    """A channel's subscription and the feeds linked to it."""

    def subscription(self, channel: ChannelRef) -> SubscriptionRow | None: ...

    def subscription_by_id(self, subscription_id: int) -> SubscriptionRow | None: ...

    def subscriptions(self) -> list[SubscriptionRow]: ...

    def subscribed_feed_ids(self, subscription_id: int) -> list[int]: ...

    def subscribed_feeds(self, subscription_id: int) -> list[FeedRow]: ...

    def channel_manager(self, channel: ChannelRef) -> str | None: ...

    def story_articles(self, story_ids: Sequence[int]) -> dict[int, list[StoredArticle]]: ...


class CommandStore(ChannelQueries, Protocol):
    """What chat commands read and change (bot.commands.router)."""

    def ensure_subscription(self, channel: ChannelRef, now: datetime) -> int: ...

    def upsert_subscription(self, channel: ChannelRef, now: datetime, **values: Any) -> int: ...

    def set_manager(self, channel: ChannelRef, user: str) -> None: ...

    def add_feed(self, url: str, now: datetime, *, name: str | None = None, from_config: bool = False) -> int: ...

    def subscribe(
        self, subscription_id: int, feed_ids: Iterable[int], now: datetime, *, settle_backlog: bool = True
    ) -> list[int]: ...

    def unsubscribe(self, subscription_id: int, feed_id: int) -> tuple[bool, bool]: ...

    def remove_feed(self, feed_id: int) -> None: ...

    def search_articles(self, words: Sequence[str], feed_ids: Sequence[int] | None = None) -> list[SearchHit]: ...


class DigestStore(ChannelQueries, Protocol):
    """What planning a digest and building its views reads and records (bot.digest)."""

    def feeds(self, ids: Iterable[int] | None = None) -> list[FeedRow]: ...

    def unsettled_feeds(self, subscription_id: int) -> list[int]: ...

    def undigested_stories(
        self,
        subscription_id: int,
        feed_id: int | None = None,
        since: datetime | None = None,
        *,
        feed_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, int, datetime]]: ...

    def settle_backlog(
        self, subscription_id: int, feed_ids: Sequence[int], skipped: Sequence[int], slot: datetime, now: datetime
    ) -> None: ...

    def told_stories(self, subscription_id: int, since: datetime) -> list[ToldStory]: ...

    def feeds_carrying(self, article_ids: Sequence[int]) -> dict[int, set[int]]: ...

    def create_digest(
        self,
        subscription_id: int,
        scheduled_for: datetime,
        title: str,
        story_ids: Sequence[int],
        now: datetime,
        *,
        kind: str = "scheduled",
        status: str | None = None,
        updates: Sequence[tuple[int, dict[str, Any]]] = (),
    ) -> int | None: ...


class DeliveryStore(DigestStore, Protocol):
    """Claims, what is posted, and the notices outbox (bot.delivery, bot.outbox, bot.scheduler)."""

    def digest(self, digest_id: int) -> DigestRow | None: ...

    def pending_digests(self, subscription_id: int) -> list[DigestRow]: ...

    def has_digest(self, subscription_id: int, scheduled_for: datetime) -> bool: ...

    def last_digest_at(self, subscription_id: int, before: datetime | None = None) -> datetime | None: ...

    def claimable_subscriptions(self, now: datetime, dead: Callable[[str], bool] = ...) -> list[int]: ...

    def claim_digest(
        self, digest_id: int, owner: str, now: datetime, until: datetime, *, take_from: str | None = None
    ) -> bool: ...

    def renew_claim(self, digest_id: int, owner: str, until: datetime) -> bool: ...

    def begin_post(self, digest_id: int, owner: str, position: int, until: datetime) -> bool: ...

    def clear_doubt(self, digest_id: int, position: int) -> None: ...

    def record_posted(self, digest_id: int, position: int, ref: str, thread_ref: str | None, now: datetime) -> bool: ...

    def message_recorded(self, ref: str) -> bool: ...

    def finish_digest(self, digest_id: int, owner: str, now: datetime) -> None: ...

    def release_digest(
        self, digest_id: int, owner: str, *, retry_at: datetime | None = None, error: str | None = None
    ) -> None: ...

    def claim_notices(
        self, now: datetime, lease_until: datetime, platforms: Sequence[str], limit: int = 1
    ) -> list[NoticeRow]: ...

    def notice_done(
        self, notice_id: int, lease_until: datetime, now: datetime, *, sent: bool, error: str | None = None
    ) -> bool: ...

    def notice_retry(self, notice_id: int, lease_until: datetime, at: datetime, error: str) -> bool: ...

    def queue_manager_notice(self, channel: ChannelRef, problem: str, text: str, now: datetime) -> str | None: ...


class IngestStore(Protocol):
    """What polling reads and stores (bot.ingest.poll): feed claims, dedupe keys, articles, results."""

    def feeds(self, ids: Iterable[int] | None = None) -> list[FeedRow]: ...

    def claim_feeds(
        self, now: datetime, lease_until: datetime, *, ids: Iterable[int] | None = None, due_only: bool = True
    ) -> list[FeedSchedule]: ...

    def known_keys(
        self, feed_id: int, guids: Sequence[str], urls: Sequence[str]
    ) -> tuple[set[str], dict[str, int]]: ...

    def link_articles(self, feed_id: int, links: Sequence[tuple[int, str]], now: datetime) -> int: ...

    def add_articles(self, batch: Sequence[dict[str, Any]], plan: ClusterPlan, now: datetime) -> AppliedPlan:
        """Store the batch (each article's column values) as the story index planned it, in one
        transaction, skipping the splits of stories a digest carries; raise StorageConflict when
        another poller stored some of these articles at the same moment."""
        ...

    def cluster_candidates_after(self, since: datetime, after_id: int) -> tuple[list[Candidate], int]: ...

    def max_article_id(self) -> int: ...

    def feed_removals(self) -> int:
        """How many feeds any process has removed from this database: a story index built at
        another count holds articles that are gone."""
        ...

    def subscribers(self, feed_id: int) -> list[ChannelRef]: ...

    def save_poll_results(
        self,
        results: Sequence[tuple[int, Mapping[str, Any]]],
        notices: Sequence[tuple[ChannelRef, str]] = (),
        now: datetime | None = None,
    ) -> None: ...


class MaintenanceStore(Protocol):
    """The daily clean-up (bot.scheduler): old article bodies and sent notices."""

    def prune_bodies(self, older_than: datetime, now: datetime) -> int: ...

    def prune_notices(self, older_than: datetime) -> int: ...
