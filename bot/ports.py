"""The Protocols the core talks through: chat adapters and the clock.

Adapters implement ChatAdapter and are handed to the core by bot.app; the core
never imports a platform library. Time always comes from a Clock so tests can
move it instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from bot.models import (
    ChannelRef,
    CommandRequest,
    Digest,
    DigestStory,
    DigestUpdate,
    FoundPosts,
    PostedMessage,
    Reply,
)

CommandHandler = Callable[[CommandRequest], Awaitable[Reply]]
# is this platform message recorded by some digest already? (it cannot be another digest's lost parent)
Taken = Callable[[str], bool]


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
    """

    name: str

    async def post_parent(self, channel: ChannelRef, digest: Digest) -> PostedMessage: ...

    async def post_notice(self, channel: ChannelRef, text: str) -> PostedMessage:
        """A plain message to the channel, e.g. that one of its feeds was paused."""
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
    """What adapters read about a channel: its feeds and topics for autocomplete, and who to tell of
    posting trouble (bot.app.App provides it)."""

    def channel_feeds(self, channel: ChannelRef) -> Sequence[tuple[int, str, str]]: ...

    def channel_follows(self, channel: ChannelRef) -> Sequence[str]: ...

    def channel_manager(self, channel: ChannelRef) -> str | None:
        """The platform user who last changed the channel's news, told by DM when posting there fails;
        None when nobody did or the lookup fails (it never raises)."""
        ...


@runtime_checkable
class UsesChannelLookup(Protocol):
    """An adapter that reads channels through a ChannelLookup (autocomplete, the manager to tell)."""

    lookup: ChannelLookup | None
