"""DiscordAdapter: posts threaded digests and answers /news app commands through discord.py.

One discord.Client in the bot's own event loop: a REST-only login on the first post (enough for
`newsbot digest --once`), the gateway only when `start` is called by `newsbot run`. Platform
refusals become PostError with a message saying what to fix; the core keeps the digest pending.
Every send carries a nonce with enforce_nonce (Discord answers a repeat within minutes with the
first message); `find_posted` reads the channel and thread back for anything older.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any, Literal

import aiohttp
import discord
from discord import app_commands

from adapters.discord import render
from adapters.discord.commands import Choice, Interaction, build_group
from bot.commands.router import USAGE, changes_channel
from bot.config import DiscordSettings, Settings
from bot.errors import ConfigError, NewsbotError, PostError
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
from bot.ports import ChannelLookup, CommandHandler, Taken

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
READY_TIMEOUT = 120.0
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440  # a day: a digest thread is read the day it is posted
# Discord JSON error codes this adapter reacts to
UNKNOWN_MESSAGE = 10008
MISSING_ACCESS = 50001
THREAD_ALREADY_CREATED = 160004
ARCHIVED_THREAD = 50083
CLOCK_SKEW = timedelta(minutes=5)  # Discord's clock against ours, when looking for a parent by time
HISTORY_LIMIT = 500  # messages read back at most when looking for what a digest already posted
NEEDED = (
    "View Channel, Send Messages, Embed Links, Create Public Threads, Send Messages in Threads and Read Message History"
)
# Replies to these commands, when they change something, are shown to the channel; the rest only to the caller.


class _Client(discord.Client):
    """discord.Client that tells the adapter when the gateway session is ready."""

    def __init__(self, ready: asyncio.Event, **options: Any) -> None:
        super().__init__(**options)
        self._ready_flag = ready

    async def on_ready(self) -> None:
        self._ready_flag.set()


class DiscordAdapter:
    name = "discord"

    def __init__(self, settings: DiscordSettings, token: str, *, guild_ready_timeout: float = 2.0) -> None:
        self.settings = settings
        self._token = token
        # discord.py builds every REST, webhook and interaction-callback URL from this class attribute
        discord.http.Route.BASE = settings.api_base_url.rstrip("/")
        self._ready = asyncio.Event()
        self.client = _Client(
            self._ready,
            intents=discord.Intents(guilds=True),  # channels and threads; nothing privileged
            allowed_mentions=NONE,
            guild_ready_timeout=guild_ready_timeout,
            max_ratelimit_timeout=30.0,  # longer waits raise RateLimited: the digest is retried later
        )
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(self.client)
        self.group = build_group(settings.command, _default_permissions(settings.managers), self)
        self.lookup: ChannelLookup | None = None  # set by the App for autocomplete
        self._handle: CommandHandler | None = None
        self._login_lock = asyncio.Lock()
        self._logged_in = False
        self._runner: asyncio.Task[None] | None = None
        self._threads: dict[str, str] = {}  # parent message id -> its thread id, once known to exist
        self._told: set[tuple[str, str]] = set()  # (channel id, problem) already reported by DM

    @classmethod
    def from_settings(cls, settings: Settings) -> DiscordAdapter:
        token = settings.secret("discord.token_env", settings.discord.token_env)
        return cls(settings.discord, token)

    def __repr__(self) -> str:
        return f"<DiscordAdapter api={self.settings.api_base_url!r} command=/{self.settings.command}>"

    # --- lifecycle -------------------------------------------------------------------------

    async def _login(self) -> None:
        async with self._login_lock:
            if self._logged_in:
                return
            try:
                await self.client.login(self._token)  # REST only: /users/@me and the application
            except discord.LoginFailure:
                raise ConfigError(
                    "discord.token_env",
                    f"Discord refused the bot token in ${self.settings.token_env} (401 Unauthorized); "
                    "copy it again from the application's Bot page",
                ) from None
            self._logged_in = True

    async def _rest(self) -> None:
        """Logged in for REST calls (lazily: `digest --once` never opens the gateway)."""
        try:
            await self._login()
        except ConfigError as exc:
            # retryable: a fixed token makes it work, and a story must not be given up for it
            raise PostError(str(exc), retryable=True) from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            raise PostError(f"discord: could not log in at {self.settings.api_base_url}: {exc}") from None

    async def start(self, handle: CommandHandler) -> None:
        """Log in, register /news, connect to the gateway and return once the session is ready."""
        self._handle = handle
        self._ready.clear()
        try:
            await self._login()
            await self.sync_commands()
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            raise NewsbotError(
                f"discord: could not reach {self.settings.api_base_url} to log in and register /"
                f"{self.settings.command}: {exc}; check the network and discord.api_base_url"
            ) from None
        self._runner = asyncio.create_task(self._connect(), name="discord-gateway")
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait({self._runner, ready}, timeout=READY_TIMEOUT, return_when="FIRST_COMPLETED")
        if ready in done:
            log.info("discord: connected as %s; /%s is ready", self.client.user, self.settings.command)
            return
        ready.cancel()
        if self._runner in done:
            failure = self._runner.exception()
            raise NewsbotError(f"discord: the gateway connection failed: {failure}") from failure
        raise NewsbotError(f"discord: the gateway was not ready after {READY_TIMEOUT:.0f} s")

    async def _connect(self) -> None:
        # client.start() is login + connect; the login is shared with REST-only posting, so connect here
        async with self.client:
            await self.client.connect(reconnect=True)

    async def stop(self) -> None:
        """Close the gateway (if started) and the HTTP session (if logged in)."""
        runner, self._runner = self._runner, None
        if not self.client.is_closed():
            await self.client.close()  # also after a failed login, which has opened an HTTP session
        if runner is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(runner, timeout=10)
        self._logged_in = False

    async def sync_commands(self) -> None:
        """Register /news: instantly in the listed guilds, else globally (and only when it changed)."""
        if self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(guild_id)
                self.tree.add_command(self.group, guild=guild, override=True)
                try:
                    await self.tree.sync(guild=guild)
                except discord.HTTPException as exc:
                    log.error(
                        "discord: could not register /%s in guild %s (%s); is newsbot in that server, invited "
                        "with the applications.commands scope? (discord.guild_ids)",
                        self.settings.command,
                        guild_id,
                        _describe(exc),
                    )
            return
        self.tree.add_command(self.group, override=True)
        local = [c.to_dict(self.tree) for c in self.tree.get_commands()]
        app_id = self.client.application_id
        remote = await self.client.http.get_global_commands(app_id) if app_id else []
        if _canonical(local) == _canonical(remote):
            log.info("discord: global /%s is up to date", self.settings.command)
            return
        await self.tree.sync()
        log.info("discord: registered /%s globally (Discord may take a while to show changes)", self.settings.command)

    # --- posting -------------------------------------------------------------------------

    async def post_parent(self, channel: ChannelRef, digest: Digest) -> PostedMessage:
        target = await self._channel(channel)
        content, embed = self._parent_parts(digest)
        if digest.updates:
            content, embed = _with_developing(content, embed, digest, target.guild.id)
        if isinstance(target, discord.ForumChannel):
            name = render.thread_name(digest)
            async with self._errors(channel, "create the digest's forum post in", "Send Messages", sends=True):
                if embed is not None:
                    created = await target.create_thread(
                        name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES, embed=embed, allowed_mentions=NONE
                    )
                else:
                    created = await target.create_thread(
                        name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES, content=content, allowed_mentions=NONE
                    )
            return PostedMessage(ref=str(created.message.id), thread_ref=str(created.thread.id))
        async with self._errors(channel, "post the digest in", "Send Messages", sends=True):
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
        await self._rest()
        thread_id = parent.thread_ref or self._threads.get(parent.ref)
        if thread_id is None:
            target = await self._channel(channel)
            if not isinstance(target, discord.TextChannel):
                raise PostError(f"discord: channel {channel.channel} cannot hold the digest's thread", retryable=False)
            thread_id = await self._open_thread(channel, target, int(parent.ref), digest)
        thread = self.client.get_partial_messageable(int(thread_id), type=discord.ChannelType.public_thread)
        async with self._errors(
            channel, "post a story in the digest's thread in", "Send Messages in Threads", sends=True
        ):
            message = await thread.send(
                allowed_mentions=NONE, nonce=_nonce(digest, position), **self._story_body(story, position)
            )
        return PostedMessage(ref=str(message.id), thread_ref=thread_id)

    async def post_update(self, channel: ChannelRef, digest: Digest, update: DigestUpdate) -> PostedMessage:
        """A reply to the story's earlier message, in its thread (a thread archived since is reopened by the post)."""
        await self._rest()
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
        async with self._errors(
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
                    f"discord: the story's earlier thread {thread_id} takes no follow-up: {_describe(exc)}",
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
            async with self._errors(channel, "read back the follow-ups in", "Read Message History"):
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
        await self._rest()
        me = self.client.user.id if self.client.user else None
        if parent is None:
            target = await self._channel(channel)
            async with self._errors(channel, "read back the digest's messages in", "Read Message History"):
                parent = await self._find_parent(target, digest, me, taken or _never_taken)
            if parent is None:
                return FoundPosts()
        updates = await self._find_updates(channel, digest, me, taken or _never_taken) if digest.updates else {}
        thread_id = parent.thread_ref or self._threads.get(parent.ref) or parent.ref
        stories: dict[int, PostedMessage] = dict(updates)
        seen = 0
        async with self._errors(channel, "read back the digest's thread in", "Read Message History"):
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
            raise self._unreadable(ChannelRef(self.name, str(target.id)))
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
        async with self._errors(channel, "post a notice in", "Send Messages"):
            if isinstance(target, discord.ForumChannel):
                created = await target.create_thread(name="newsbot notice", content=content, allowed_mentions=NONE)
                return PostedMessage(ref=str(created.message.id), thread_ref=str(created.thread.id))
            message = await target.send(content=content, allowed_mentions=NONE)
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
        if channel.platform != self.name or not channel.channel.isdigit():
            raise PostError(f'"{channel}" is not a Discord channel; use discord:<channel id>', retryable=False)
        await self._rest()
        channel_id = int(channel.channel)
        found = self.client.get_channel(channel_id)
        if found is None:
            async with self._errors(channel, "look up", "View Channel"):
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
        async with self._errors(channel, "create the digest's thread in", "Create Public Threads"):
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

    @contextlib.asynccontextmanager
    async def _errors(
        self, channel: ChannelRef, action: str, likely: str, *, sends: bool = False
    ) -> AsyncIterator[None]:
        """Turn what discord.py raises into a PostError that says what to fix; report permission problems.

        With `sends`, a lost answer (dropped connection, timeout, a 5xx after discord.py's own retries)
        is a PostError with `unknown`: the message may exist, and the core looks before sending again.
        """
        where = f"channel {channel.channel}"
        try:
            yield
        except discord.Forbidden as exc:
            if exc.code == MISSING_ACCESS:
                fix = f"newsbot cannot see {where}: give it View Channel there (and {NEEDED})"
            else:
                fix = f"newsbot lacks a permission to {action} {where} (likely {likely}); it needs {NEEDED} there"
            message = f"discord: {fix} [{_describe(exc)}]"
            await self._report(channel, "forbidden", message)
            raise PostError(message, retryable=True) from None
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_MESSAGE:
                message = f"discord: the digest's parent message in {where} was deleted, so its thread cannot be made"
            else:
                message = f"discord: {where} no longer exists, or newsbot was removed from its server"
            message += f" [{_describe(exc)}]"
            await self._report(channel, "gone", message)
            # a deleted parent can never get its thread; a missing channel may come back (the bot re-invited)
            raise PostError(message, retryable=exc.code != UNKNOWN_MESSAGE) from None
        except discord.RateLimited as exc:
            raise PostError(
                f"discord: rate limited for {exc.retry_after:.0f} s; will retry later", retryable=True
            ) from None
        except discord.HTTPException as exc:
            # 400 means Discord refuses this very message; anything else may pass later
            retryable = exc.status != 400 or exc.code == ARCHIVED_THREAD
            unknown = sends and exc.status >= 500
            raise PostError(
                f"discord: could not {action} {where}: {_describe(exc)}", retryable=retryable, unknown=unknown
            ) from None
        except aiohttp.ClientConnectorError as exc:
            # no connection was made, so nothing was sent
            raise PostError(f"discord: network error trying to {action} {where}: {exc!r}", retryable=True) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise PostError(
                f"discord: the answer was lost trying to {action} {where} ({type(exc).__name__})",
                retryable=True,
                unknown=sends,
            ) from None

    async def _manager(self, channel: ChannelRef) -> int | None:
        """Who last changed the channel's news, as the core recorded it (kept across restarts)."""
        stored = await self.lookup.channel_manager(channel) if self.lookup is not None else None
        return int(stored) if stored and stored.isdigit() else None

    async def _report(self, channel: ChannelRef, problem: str, message: str) -> None:
        """Log the problem and, once per channel and problem, tell whoever last configured the channel by DM."""
        log.error("%s; the digest stays pending", message)
        user_id = await self._manager(channel)
        if user_id is None or (channel.channel, problem) in self._told:
            return
        self._told.add((channel.channel, problem))
        text = f"newsbot could not post the news digest in <#{channel.channel}>: {message.removeprefix('discord: ')}. "
        text += "Nothing is lost: the digest stays pending and is posted once this is fixed."
        try:
            dm = await self.client.create_dm(discord.Object(user_id))
            await dm.send(content=text[: render.CONTENT_LIMIT], allowed_mentions=NONE)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            log.warning("discord: could not tell user %s about it either: %s", user_id, exc)

    # --- app commands (commands.Runner) -----------------------------------------------------

    def can_manage(self, interaction: Interaction) -> bool:
        if self.settings.managers == "everyone":
            return True
        perms = interaction.permissions
        if self.settings.managers == "administrator":
            return perms.administrator
        return perms.administrator or perms.manage_channels

    async def run(self, interaction: Interaction, name: str, text: str) -> None:
        """Defer at once (Discord allows 3 s), run the core command, answer by follow-up."""
        allowed = self.can_manage(interaction)
        changes = changes_channel(text)
        public = changes and allowed
        if not await self._defer(interaction, ephemeral=not public):
            return
        channel = ChannelRef(self.name, str(interaction.channel_id))
        if self._handle is None:
            reply = Reply(("newsbot is still starting; try again in a moment.",), ok=False)
        else:
            request = CommandRequest(channel=channel, user=str(interaction.user.id), text=text, can_manage=allowed)
            try:
                reply = await self._handle(request)
            except Exception:
                log.exception("discord: /%s %s failed", self.settings.command, name)
                reply = Reply(("Something went wrong inside newsbot; the details are in its log.",), ok=False)
        if reply.ok and changes:
            reply = Reply((*reply.lines, *self._missing_permissions(interaction)), reply.ok, reply.results)
        await self._answer(interaction, reply, public=public)

    async def refuse(self, interaction: Interaction, name: str, message: str) -> None:
        if await self._defer(interaction, ephemeral=True):
            await self._answer(interaction, Reply((message, f"Usage: {USAGE[name]}"), ok=False), public=False)

    async def _defer(self, interaction: Interaction, *, ephemeral: bool) -> bool:
        try:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        except discord.HTTPException as exc:
            log.warning("discord: could not acknowledge an interaction in time: %s", _describe(exc))
            return False
        return True

    async def _answer(self, interaction: Interaction, reply: Reply, *, public: bool) -> None:
        chunks = render.reply_chunks(reply, self.settings.style)
        ephemeral = not public or not reply.ok
        try:
            if public and not reply.ok:
                # the deferral was public; an error must not be, so replace it by an ephemeral follow-up
                await interaction.delete_original_response()
            for text, embeds in chunks:
                await interaction.followup.send(
                    content=text or discord.utils.MISSING,
                    embeds=embeds or discord.utils.MISSING,
                    ephemeral=ephemeral,
                    allowed_mentions=NONE,
                )
        except discord.HTTPException as exc:
            log.warning("discord: could not answer /%s: %s", self.settings.command, _describe(exc))

    def _missing_permissions(self, interaction: Interaction) -> list[str]:
        """A warning when newsbot itself could not post digests in this channel."""
        have = interaction.app_permissions
        wanted = {
            "View Channel": have.view_channel,
            "Send Messages": have.send_messages,
            "Create Public Threads": have.create_public_threads,
            "Send Messages in Threads": have.send_messages_in_threads,
            "Read Message History": have.read_message_history,
        }
        if self.settings.style == "embeds":
            wanted["Embed Links"] = have.embed_links
        missing = [name for name, ok in wanted.items() if not ok]
        if not missing:
            return []
        return [f"Warning: newsbot lacks {', '.join(missing)} in this channel, so digests cannot be posted here yet."]

    def _channel_of(self, interaction: Interaction) -> ChannelRef:
        return ChannelRef(self.name, str(interaction.channel_id))

    async def feed_choices(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        if self.lookup is None:
            return []
        needle = current.strip().casefold()
        choices = []
        for feed in await self.lookup.channel_feeds(self._channel_of(interaction)):
            label = f"{feed.id}. {feed.name} — {feed.url}"
            if needle in label.casefold():
                choices.append(Choice(name=_clip(label, 100), value=str(feed.id)))
        return choices[:25]

    async def follow_choices(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        if self.lookup is None:
            return []
        needle = current.strip().casefold()
        topics = await self.lookup.channel_follows(self._channel_of(interaction))
        return [Choice(name=_clip(t, 100), value=t[:100]) for t in topics if needle in t.casefold()][:25]


async def _never_taken(ref: str) -> bool:
    return False


def _default_permissions(managers: str) -> discord.Permissions | None:
    if managers == "everyone":
        return None
    if managers == "administrator":
        return discord.Permissions(administrator=True)
    return discord.Permissions(manage_channels=True)


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


def _describe(exc: discord.HTTPException) -> str:
    text = exc.text or exc.response.reason or ""
    return f"{exc.status} {text} (Discord code {exc.code})" if exc.code else f"{exc.status} {text}".strip()


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


_COMMAND_KEYS = {
    "name",
    "description",
    "type",
    "options",
    "required",
    "choices",
    "value",
    "autocomplete",
    "min_value",
    "max_value",
    "min_length",
    "max_length",
    "default_member_permissions",
    "contexts",
    "nsfw",
}


def _canonical(commands: Sequence[Any]) -> str:
    """Command definitions reduced to what they mean, to compare ours with what Discord has."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: clean(v) for k, v in value.items() if k in _COMMAND_KEYS}
            if out.get("default_member_permissions") is not None:
                out["default_member_permissions"] = str(out["default_member_permissions"])
            return {k: v for k, v in out.items() if v not in (None, False, [], "")}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return json.dumps(sorted((clean(c) for c in commands), key=lambda c: str(c.get("name"))), sort_keys=True)
