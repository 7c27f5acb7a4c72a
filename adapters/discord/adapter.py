"""DiscordAdapter: the core's ChatAdapter and CommandSource for Discord, put together.

The session (lifecycle: login, command registration, gateway), the posting (posting: digests,
notices, DMs, read-back) and the /news interactions (interactions) each live in their own module;
this class only hands each call to the part that does it.
"""

from __future__ import annotations

from adapters.discord.commands import build_group
from adapters.discord.interactions import Interactions, default_permissions
from adapters.discord.lifecycle import Session
from adapters.discord.posting import Poster
from bot.config import DiscordSettings, Settings
from bot.models import ChannelRef, Digest, DigestStory, DigestUpdate, FoundPosts, PostedMessage
from bot.ports import ChannelLookup, CommandHandler, Taken


class DiscordAdapter:
    name = "discord"

    def __init__(self, settings: DiscordSettings, token: str, *, guild_ready_timeout: float = 2.0) -> None:
        self.settings = settings
        self.session = Session(settings, token, guild_ready_timeout=guild_ready_timeout)
        self.client = self.session.client
        self.poster = Poster(settings, self.session)
        self.interactions = Interactions(settings)
        self.group = build_group(settings.command, default_permissions(settings.managers), self.interactions)

    @classmethod
    def from_settings(cls, settings: Settings) -> DiscordAdapter:
        token = settings.secret("discord.token_env", settings.discord.token_env)
        return cls(settings.discord, token)

    def __repr__(self) -> str:
        return f"<DiscordAdapter api={self.settings.api_base_url!r} command=/{self.settings.command}>"

    @property
    def lookup(self) -> ChannelLookup | None:
        """What autocomplete reads (the App sets it: bot.ports.UsesChannelLookup)."""
        return self.interactions.lookup

    @lookup.setter
    def lookup(self, value: ChannelLookup | None) -> None:
        self.interactions.lookup = value

    # --- CommandSource -----------------------------------------------------------------------

    async def start(self, handle: CommandHandler) -> None:
        """Log in, register /news, connect to the gateway and return once the session is ready."""
        self.interactions.handle = handle
        await self.session.start(self.group)

    async def stop(self) -> None:
        await self.session.stop()

    async def sync_commands(self) -> None:
        await self.session.sync_commands(self.group)

    # --- ChatAdapter -------------------------------------------------------------------------

    async def post_parent(self, channel: ChannelRef, digest: Digest) -> PostedMessage:
        return await self.poster.post_parent(channel, digest)

    async def post_story(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage, story: DigestStory, position: int
    ) -> PostedMessage:
        return await self.poster.post_story(channel, digest, parent, story, position)

    async def post_update(self, channel: ChannelRef, digest: Digest, update: DigestUpdate) -> PostedMessage:
        return await self.poster.post_update(channel, digest, update)

    async def post_notice(self, channel: ChannelRef, text: str) -> PostedMessage:
        return await self.poster.post_notice(channel, text)

    async def post_direct(self, channel: ChannelRef, user: str, text: str) -> PostedMessage:
        return await self.poster.post_direct(channel, user, text)

    async def find_posted(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage | None, *, taken: Taken | None = None
    ) -> FoundPosts:
        return await self.poster.find_posted(channel, digest, parent, taken=taken)
