"""Answering /news interactions: defer at once, run the core command, answer by follow-up.

Discord wants an acknowledgement within 3 s and its visibility chosen then, so whether the answer
may be public is asked of the core before running (bot.commands.router.changes_channel); what
the channel finally sees is the core's `Reply.public`. Who may change a channel's news follows
`discord.managers`; autocomplete reads the channel's feeds and topics through a ChannelLookup.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import discord

from adapters.discord import render
from adapters.discord.commands import MAX_CHOICES, Choice, Interaction
from adapters.discord.errors import describe
from adapters.discord.lifecycle import NONE
from bot.commands.router import USAGE, changes_channel
from bot.config import DiscordSettings
from bot.limits import MAX_TOPIC_CHARS
from bot.models import ChannelRef, CommandRequest, Reply
from bot.ports import ChannelLookup, CommandHandler

log = logging.getLogger(__name__)

CHOICE_CHARS = 100  # Discord's longest choice name and value


def default_permissions(managers: str) -> discord.Permissions | None:
    """The permissions Discord asks of a member before showing the command group at all."""
    if managers == "everyone":
        return None
    if managers == "administrator":
        return discord.Permissions(administrator=True)
    return discord.Permissions(manage_channels=True)


class Interactions:
    """The command tree's Runner (adapters.discord.commands): every /news subcommand comes here."""

    platform = "discord"

    def __init__(self, settings: DiscordSettings) -> None:
        self.settings = settings
        self.handle: CommandHandler | None = None  # the core's, once started
        self.lookup: ChannelLookup | None = None  # set by the App for autocomplete

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
        # public only if the core may make it so: a manager's change (an error still goes private)
        deferred_public = changes and allowed
        if not await self._defer(interaction, ephemeral=not deferred_public):
            return
        if self.handle is None:
            reply = Reply(("newsbot is still starting; try again in a moment.",), ok=False)
        else:
            request = CommandRequest(
                channel=self._channel_of(interaction), user=str(interaction.user.id), text=text, can_manage=allowed
            )
            try:
                reply = await self.handle(request)
            except Exception:
                log.exception("discord: /%s %s failed", self.settings.command, name)
                reply = Reply(("Something went wrong inside newsbot; the details are in its log.",), ok=False)
        if reply.ok and changes:
            reply = replace(reply, lines=(*reply.lines, *self._missing_permissions(interaction)))
        await self._answer(interaction, reply, deferred_public=deferred_public)

    async def refuse(self, interaction: Interaction, name: str, message: str) -> None:
        if await self._defer(interaction, ephemeral=True):
            await self._answer(interaction, Reply((message, f"Usage: {USAGE[name]}"), ok=False), deferred_public=False)

    async def _defer(self, interaction: Interaction, *, ephemeral: bool) -> bool:
        try:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        except discord.HTTPException as exc:
            log.warning("discord: could not acknowledge an interaction in time: %s", describe(exc))
            return False
        return True

    async def _answer(self, interaction: Interaction, reply: Reply, *, deferred_public: bool) -> None:
        chunks = render.reply_chunks(reply, self.settings.style)
        public = deferred_public and reply.public  # a private deferral cannot turn public
        try:
            if deferred_public and not public:
                # the deferral was public; this answer must not be, so replace it by an ephemeral follow-up
                await interaction.delete_original_response()
            for text, embeds in chunks:
                await interaction.followup.send(
                    content=text or discord.utils.MISSING,
                    embeds=embeds or discord.utils.MISSING,
                    ephemeral=not public,
                    allowed_mentions=NONE,
                )
        except discord.HTTPException as exc:
            log.warning("discord: could not answer /%s: %s", self.settings.command, describe(exc))

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
        return ChannelRef(self.platform, str(interaction.channel_id))

    async def feed_choices(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        if self.lookup is None:
            return []
        needle = current.strip().casefold()
        choices = []
        for feed in await self.lookup.channel_feeds(self._channel_of(interaction)):
            label = f"{feed.id}. {feed.name} — {feed.url}"
            if needle in label.casefold():
                choices.append(Choice(name=_clip(label, CHOICE_CHARS), value=str(feed.id)))
        return choices[:MAX_CHOICES]

    async def follow_choices(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        if self.lookup is None:
            return []
        needle = current.strip().casefold()
        topics = await self.lookup.channel_follows(self._channel_of(interaction))
        return [
            Choice(name=_clip(t, CHOICE_CHARS), value=t[:MAX_TOPIC_CHARS]) for t in topics if needle in t.casefold()
        ][:MAX_CHOICES]


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
