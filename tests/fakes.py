"""Small fakes for tests: a chat platform that records what it was sent and can fail on cue."""

from __future__ import annotations

import asyncio

from bot.errors import PostError
from bot.models import ChannelRef, Digest, DigestStory, DigestUpdate, FoundPosts, PostedMessage
from bot.ports import Taken


class FlakyAdapter:
    """A chat platform that records what it was sent and can fail on one call."""

    name = "console"

    def __init__(self, fail_on: int | None = None, error: Exception | None = None, pause: float = 0.0) -> None:
        self.fail_on = fail_on
        self.error = error or PostError("channel_not_found")
        self.pause = pause  # yield to the loop between posts, as a real network call does
        self.calls = 0
        self.sent: list[str] = []
        self.notices: list[str] = []
        self.direct: list[tuple[str, str]] = []  # (user, text) of each private message

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise self.error

    async def post_notice(self, channel: ChannelRef, text: str) -> PostedMessage:
        self.notices.append(text)
        return PostedMessage(ref=f"n{len(self.notices)}")

    async def post_direct(self, channel: ChannelRef, user: str, text: str) -> PostedMessage:
        self.direct.append((user, text))
        return PostedMessage(ref=f"d{len(self.direct)}")

    async def post_parent(self, channel: ChannelRef, digest: Digest) -> PostedMessage:
        await asyncio.sleep(self.pause)
        self._maybe_fail()
        self.sent.append(f"parent:{len(digest.stories)}")
        return PostedMessage(ref="p1", thread_ref="p1")

    async def post_story(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage, story: DigestStory, position: int
    ) -> PostedMessage:
        await asyncio.sleep(self.pause)
        self._maybe_fail()
        assert parent.ref == "p1"
        self.sent.append(story.title)
        return PostedMessage(ref=f"s{position}", thread_ref="p1")

    async def post_update(self, channel: ChannelRef, digest: Digest, update: DigestUpdate) -> PostedMessage:
        await asyncio.sleep(self.pause)
        self._maybe_fail()
        self.sent.append(f"update:{update.title}")
        return PostedMessage(ref=f"u{update.position}", thread_ref=update.reply_to.thread_ref)

    async def find_posted(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage | None, *, taken: Taken | None = None
    ) -> FoundPosts:
        return FoundPosts()
