"""Posting a digest to Discord and reading back what it already shows.

A digest is a parent message (or a forum post) with a public thread holding one message per story;
follow-ups are replies in their stories' earlier threads. Every send carries a nonce with
enforce_nonce (Discord answers a repeat within minutes with the first message); `find_posted`
reads the channel and thread back for anything older. Refusals become PostError (adapters.discord.errors).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Literal

import discord

from adapters.discord import render
from adapters.discord.errors import ARCHIVED_THREAD, THREAD_ALREADY_CREATED, describe, translated
from adapters.discord.lifecycle import NONE, Session
from bot.config import DiscordSettings
from bot.errors import PostError
from bot.models import ChannelRef, Digest, DigestStory, DigestUpdate, FoundPosts, PostedMessage
from bot.ports import Taken

log = logging.getLogger(__name__)

PLATFORM = "discord"
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440  # a day: a digest thread is read the day it is posted
CLOCK_SKEW = timedelta(minutes=5)  # Discord's clock against ours, when looking for a parent by time
HISTORY_LIMIT = 500  # messages read back at most when looking for what a digest already posted


class Poster:
    """The ChatAdapter half of DiscordAdapter: every post and read-back, over the session's REST login."""

    def __init__(self, settings: DiscordSettings, session: Session) -> None:
        self.settings = settings
        self.session = session
        self.client = session.client
        self._threads: dict[str, str] = {}  # parent message id -> its thread id, once known to exist

    async def post_parent(self, channel: ChannelRef, digest: Digest) -> PostedMessage:
        target = await self._channel(channel)
        content, embed = self._parent_parts(digest)
        if digest.updates:
            content, embed = _with_developing(content, embed, digest, target.guild.id)
        if isinstance(target, discord.ForumChannel):
            name = render.thread_name(digest)
            async with translated(channel, "create the digest's forum post in", "Send Messages", sends=True):
                if embed is not None:
                    created = await target.create_thread(
                        name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES, embed=embed, allowed_mentions=NONE
                    )
                else:
                    created = await target.create_thread(
                        name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES, content=content, allowed_mentions=NONE
                    )
            return PostedMessage(ref=str(created.message.id), thread_ref=str(created.thread.id))
        async with translated(channel, "post the digest in", "Send Messages", sends=True):
            if embed is not None:
                message = await target.send(embed=embed, allowed_mentions=NONE, nonce=_nonce(digest, 0))
            else:
                message = await target.send(content=content, allowed_mentions=NONE, nonce=_nonce(digest, 0))
        if isinstance(target, discord.Thread):
            return PostedMessage(ref=str(message.id), thread_ref=str(target.id))
        if not digest.stories:
            return PostedMessage(ref=str(message.id))
        try:
            thread = await self._open_thread(channel, target, message.id, digest)
        except PostError as exc:
            # the parent is out: report it so the core records it; post_story opens the thread later
            log.warning("discord: %s; the thread will be created from the same message on the next try", exc)
            return PostedMessage(ref=str(message.id))
        return PostedMessage(ref=str(message.id), thread_ref=thread)

    async def post_story(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage, story: DigestStory, position: int
    ) -> PostedMessage:
        await self.session.rest()
        thread_id = parent.thread_ref or self._threads.get(parent.ref)
        if thread_id is None:
            target = await self._channel(channel)
            if not isinstance(target, discord.TextChannel):
                raise PostError(f"discord: channel {channel.channel} cannot hold the digest's thread", retryable=False)
            thread_id = await self._open_thread(channel, target, int(parent.ref), digest)
        thread = self.client.get_partial_messageable(int(thread_id), type=discord.ChannelType.public_thread)
        async with translated(
            channel, "post a story in the digest's thread in", "Send Messages in Threads", sends=True
        ):
            message = await thread.send(
                allowed_mentions=NONE, nonce=_nonce(digest, position), **self._story_body(story, position)
            )
        return PostedMessage(ref=str(message.id), thread_ref=thread_id)

    async def post_update(self, channel: ChannelRef, digest: Digest, update: DigestUpdate) -> PostedMessage:
        """A reply to the story's earlier message, in its thread (a thread archived since is reopened by the post)."""
        await self.session.rest()
        thread_id = update.reply_to.thread_ref or update.reply_to.ref
        if not thread_id.isdigit() or not update.reply_to.ref.isdigit():
            raise PostError(
                f"discord: the story's earlier message {update.reply_to.ref!r} is not a Discord message",
                retryable=False,
            )
        thread = self.client.get_partial_messageable(int(thread_id), type=discord.ChannelType.public_thread)
        reference = discord.MessageReference(
            # a reply to a deleted story message is refused, not sent unreferenced: an unreferenced one
            # could not be told apart from others after a crash (find_posted matches the reference)
            message_id=int(update.reply_to.ref),
            channel_id=int(thread_id),
            fail_if_not_exists=True,
        )
        async with translated(
            channel, "post a follow-up in the story's thread in", "Send Messages in Threads", sends=True
        ):
            try:
                message = await thread.send(
                    content=render.update_text(update),
                    allowed_mentions=NONE,
                    nonce=_nonce(digest, update.position),
                    reference=reference,
                    mention_author=False,
                )
            except discord.HTTPException as exc:
                gone = isinstance(exc, discord.NotFound) or exc.code == ARCHIVED_THREAD or exc.status == 403
                if not gone:
                    raise
                # the earlier thread was deleted, locked or closed to newsbot: a follow-up can never go
                # there (the Developing line of the new digest still tells it); never block the channel
                raise PostError(
                    f"discord: the story's earlier thread {thread_id} takes no follow-up: {describe(exc)}",
                    retryable=False,
                ) from None
        return PostedMessage(ref=str(message.id), thread_ref=thread_id)

    async def _find_updates(
        self, channel: ChannelRef, digest: Digest, me: int | None, taken: Taken
    ) -> dict[int, PostedMessage]:
        """The digest's follow-ups already in their stories' threads: newsbot's "Update" replies to the
        story's message, posted since the digest was planned and recorded by no digest."""
        found: dict[int, PostedMessage] = {}
        since = None
        if digest.created_at is not None:
            since = discord.Object(discord.utils.time_snowflake(digest.created_at - CLOCK_SKEW))
        by_thread: dict[str, list[DigestUpdate]] = {}
        for update in digest.updates:
            by_thread.setdefault(update.reply_to.thread_ref or update.reply_to.ref, []).append(update)
        for thread_id, updates in by_thread.items():
            if not thread_id.isdigit():
                continue
            async with translated(channel, "read back the follow-ups in", "Read Message History"):
                try:
                    thread = await self.client.fetch_channel(int(thread_id))
                except discord.NotFound:
                    continue  # the thread is gone: nothing can have been posted in it
                if not isinstance(thread, discord.Thread):
                    continue
                seen = 0
                async for message in thread.history(limit=HISTORY_LIMIT, after=since, oldest_first=True):
                    seen += 1
                    if message.author.id != me or not message.content.startswith(render.UPDATE_MARK):
                        continue
                    answered = str(message.reference.message_id) if message.reference else None
                    for update in updates:
                        if (
                            update.position not in found
                            and answered == update.reply_to.ref
                            and not await taken(str(message.id))
                        ):
                            found[update.position] = PostedMessage(ref=str(message.id), thread_ref=thread_id)
                            break
            last = thread.last_message_id
            if seen == 0 and last is not None and since is not None and last > since.id:
                raise self._unreadable(channel)
            if seen >= HISTORY_LIMIT:
                raise PostError(
                    f"discord: more than {HISTORY_LIMIT} messages in a story's thread; cannot tell", unknown=True
                )
        return found

    async def find_posted(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage | None, *, taken: Taken | None = None
    ) -> FoundPosts:
        """The digest's messages Discord already shows: the parent (looked for among newsbot's messages
        since the digest was planned, by its heading), then the stories in its thread by their numbers.

        Discord answers a history read without Read Message History with an empty list, not an error:
        a read that sees nothing of a channel that has messages since then is "cannot tell", never "absent".
        """
        await self.session.rest()
        me = self.client.user.id if self.client.user else None
        if parent is None:
            target = await self._channel(channel)
            async with translated(channel, "read back the digest's messages in", "Read Message History"):
                parent = await self._find_parent(target, digest, me, taken or _never_taken)
            if parent is None:
                return FoundPosts()
        updates = await self._find_updates(channel, digest, me, taken or _never_taken) if digest.updates else {}
        thread_id = parent.thread_ref or self._threads.get(parent.ref) or parent.ref
        stories: dict[int, PostedMessage] = dict(updates)
        seen = 0
        async with translated(channel, "read back the digest's thread in", "Read Message History"):
            try:
                thread = await self.client.fetch_channel(int(thread_id))
            except discord.NotFound:
                # a parent whose thread was never opened: no story can be there
                return FoundPosts(parent=PostedMessage(parent.ref, parent.thread_ref), stories=updates)
            if not isinstance(thread, discord.Thread):
                return FoundPosts(parent=PostedMessage(parent.ref, parent.thread_ref), stories=updates)
            async for message in thread.history(
                limit=HISTORY_LIMIT, after=discord.Object(int(parent.ref)), oldest_first=True
            ):
                seen += 1
                if message.author.id != me:
                    continue
                position = render.story_position(message.content, [e.title or "" for e in message.embeds])
                if position is not None and position > 0 and position not in stories:
                    stories[position] = PostedMessage(ref=str(message.id), thread_ref=thread_id)
        last = thread.last_message_id
        if seen == 0 and last is not None and last > int(parent.ref):
            raise self._unreadable(channel)
        if seen >= HISTORY_LIMIT:
            raise PostError(
                f"discord: more than {HISTORY_LIMIT} messages in the digest's thread; cannot tell", unknown=True
            )
        return FoundPosts(parent=PostedMessage(parent.ref, thread_id), stories=stories)

    def _unreadable(self, channel: ChannelRef) -> PostError:
        message = (
            f"discord: newsbot cannot read the history of channel {channel.channel} (give it Read Message "
            "History), so it cannot tell whether the digest's last message arrived; nothing is sent again until it can"
        )
        return PostError(message, unknown=True)

    async def _find_parent(
        self,
        target: discord.TextChannel | discord.ForumChannel | discord.Thread,
        digest: Digest,
        me: int | None,
        taken: Taken,
    ) -> PostedMessage | None:
        since = None
        if digest.created_at is not None:
            since = discord.Object(discord.utils.time_snowflake(digest.created_at - CLOCK_SKEW))
        if isinstance(target, discord.ForumChannel):
            # a forum post is a thread whose starter message has the thread's id; a day later it is archived
            name = render.thread_name(digest)
            data = await self.client.http.get_active_threads(target.guild.id)
            posts = [t for t in data.get("threads", []) if t.get("parent_id") == str(target.id)]
            archived = await self.client.http.get_public_archived_threads(target.id, limit=50)
            posts += archived.get("threads", [])
            for post in sorted(posts, key=lambda t: int(t["id"])):
                if (
                    post.get("owner_id") == str(me)
                    and post.get("name") == name
                    and (since is None or int(post["id"]) > since.id)
                    and not await taken(str(post["id"]))
                ):
                    return PostedMessage(ref=str(post["id"]), thread_ref=str(post["id"]))
            return None
        head = render.parent_head(digest)
        embed_title, embed_start = render.parent_embed_title(digest), render.parent_embed_description(digest)
        seen = 0
        async for message in target.history(limit=HISTORY_LIMIT, after=since, oldest_first=True):
            seen += 1
            if message.author.id != me or await taken(str(message.id)):
                continue  # another digest's parent may carry the same heading (two digests in a day)
            if message.content.startswith(head) or any(
                e.title == embed_title and (e.description or "").startswith(embed_start) for e in message.embeds
            ):
                within = str(target.id) if isinstance(target, discord.Thread) else None
                return PostedMessage(ref=str(message.id), thread_ref=within)
        last = target.last_message_id
        if seen == 0 and last is not None and since is not None and last > since.id:
            raise self._unreadable(ChannelRef(PLATFORM, str(target.id)))
        if seen >= HISTORY_LIMIT:
            raise PostError(
                f"discord: more than {HISTORY_LIMIT} messages in channel {target.id} since the digest was planned; "
                "cannot tell whether its parent is there",
                unknown=True,
            )
        return None

    async def post_notice(self, channel: ChannelRef, text: str) -> PostedMessage:
        target = await self._channel(channel)
        content = render.inert(render.one_line(text))[: render.CONTENT_LIMIT]
        async with translated(channel, "post a notice in", "Send Messages"):
            if isinstance(target, discord.ForumChannel):
                created = await target.create_thread(name="newsbot notice", content=content, allowed_mentions=NONE)
                return PostedMessage(ref=str(created.message.id), thread_ref=str(created.thread.id))
            message = await target.send(content=content, allowed_mentions=NONE)
        return PostedMessage(ref=str(message.id))

    async def post_direct(self, channel: ChannelRef, user: str, text: str) -> PostedMessage:
        """A DM to `user` about `channel`, which shows as a link to it where the text names it."""
        if not user.isdigit():
            raise PostError(f"discord: {user!r} is not a Discord user id", retryable=False)
        await self.session.rest()
        content = render.inert(render.one_line(text)).replace(str(channel), f"<#{channel.channel}>")
        async with translated(channel, "send a direct message about", "Send Messages"):
            try:
                dm = await self.client.create_dm(discord.Object(int(user)))
                message = await dm.send(content=content[: render.CONTENT_LIMIT], allowed_mentions=NONE)
            except (discord.Forbidden, discord.NotFound) as exc:
                # the user left, or takes no DMs from the server's members: trying again will not help
                raise PostError(
                    f"discord: user {user} cannot be sent a direct message [{describe(exc)}]", retryable=False
                ) from None
        return PostedMessage(ref=str(message.id))

    def _parent_parts(self, digest: Digest) -> tuple[str | None, discord.Embed | None]:
        if self.settings.style == "embeds":
            return None, render.parent_embed(digest)
        return render.parent_text(digest), None

    def _story_body(self, story: DigestStory, position: int) -> dict[str, Any]:
        if self.settings.style == "embeds":
            return {"embed": render.story_embed(story, position)}
        return {"content": render.story_text(story, position)}

    async def _channel(self, channel: ChannelRef) -> discord.TextChannel | discord.ForumChannel | discord.Thread:
        if channel.platform != PLATFORM or not channel.channel.isdigit():
            raise PostError(f'"{channel}" is not a Discord channel; use discord:<channel id>', retryable=False)
        await self.session.rest()
        channel_id = int(channel.channel)
        found = self.client.get_channel(channel_id)
        if found is None:
            async with translated(channel, "look up", "View Channel"):
                found = await self.client.fetch_channel(channel_id)
        if not isinstance(found, discord.TextChannel | discord.ForumChannel | discord.Thread):
            kind = getattr(found, "type", type(found).__name__)
            raise PostError(
                f"discord: channel {channel_id} is a {kind} channel; "
                "digests need a text, announcement or forum channel",
                retryable=False,
            )
        return found

    async def _open_thread(
        self,
        channel: ChannelRef,
        target: discord.TextChannel | discord.ForumChannel | discord.Thread,
        message_id: int,
        digest: Digest,
    ) -> str:
        """The public thread on the parent message: created now, or found because it already exists."""
        if not isinstance(target, discord.TextChannel):
            raise PostError(f"discord: channel {channel.channel} cannot hold the digest's thread", retryable=False)
        async with translated(channel, "create the digest's thread in", "Create Public Threads"):
            try:
                thread = await target.get_partial_message(message_id).create_thread(
                    name=render.thread_name(digest), auto_archive_duration=THREAD_ARCHIVE_MINUTES
                )
                thread_id = str(thread.id)
            except discord.HTTPException as exc:
                if exc.code != THREAD_ALREADY_CREATED:
                    raise
                thread_id = str(message_id)  # a message's thread has the message's id
        self._threads[str(message_id)] = thread_id
        return thread_id


async def _never_taken(ref: str) -> bool:
    return False


def _with_developing(
    content: str | None, embed: discord.Embed | None, digest: Digest, guild_id: int | None
) -> tuple[str | None, discord.Embed | None]:
    """The parent's parts with the "Developing" section after what they say (so its head still starts them)."""
    links = {u.position: render.jump_url(guild_id, u.reply_to.thread_ref, u.reply_to.ref) for u in digest.updates}
    section = render.developing_text(digest, links)
    if embed is not None:
        room = render.EMBED_DESCRIPTION_LIMIT - len(embed.description or "") - 2
        embed.description = (
            f"{embed.description or ''}\n\n{section}"[: render.EMBED_DESCRIPTION_LIMIT]
            if room > 50
            else embed.description
        )
        return content, embed
    text = f"{content or ''}\n{section}"
    return (text if len(text) <= render.CONTENT_LIMIT else (content or "")), embed


def _nonce(digest: Digest, position: int) -> str:
    # with enforce_nonce (discord.py sets it), Discord returns the earlier message instead of posting
    # again when a nonce repeats within minutes; the key keeps it unique across databases
    return f"{digest.key}.{position}"[:25]
