"""The Discord session's life: login, command registration, the gateway, and shutdown.

One discord.Client in the bot's own event loop: a REST-only login on the first post (enough for
`newsbot digest --once`), the gateway only when `start` is called by `newsbot run`. The command
tree is registered in the listed guilds at once, else globally and only when it changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
from discord import app_commands

from adapters.discord.errors import describe
from bot.config import DiscordSettings
from bot.errors import ConfigError, NewsbotError, PostError

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
READY_TIMEOUT = 120.0


class _Client(discord.Client):
    """discord.Client that tells the session when the gateway is ready."""

    def __init__(self, ready: asyncio.Event, **options: Any) -> None:
        super().__init__(**options)
        self._ready_flag = ready

    async def on_ready(self) -> None:
        self._ready_flag.set()


class Session:
    """The client, logged in once (shared by posting and the gateway), and the command tree."""

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
        self._login_lock = asyncio.Lock()
        self._logged_in = False
        self._runner: asyncio.Task[None] | None = None

    async def login(self) -> None:
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

    async def rest(self) -> None:
        """Logged in for REST calls (lazily: `digest --once` never opens the gateway)."""
        try:
            await self.login()
        except ConfigError as exc:
            # retryable: a fixed token makes it work, and a story must not be given up for it
            raise PostError(str(exc), retryable=True) from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            raise PostError(f"discord: could not log in at {self.settings.api_base_url}: {exc}") from None

    async def start(self, group: app_commands.Group) -> None:
        """Log in, register the command group, connect to the gateway and return once it is ready."""
        self._ready.clear()
        try:
            await self.login()
            await self.sync_commands(group)
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

    async def sync_commands(self, group: app_commands.Group) -> None:
        """Register the group: instantly in the listed guilds, else globally (and only when it changed)."""
        if self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(guild_id)
                self.tree.add_command(group, guild=guild, override=True)
                try:
                    await self.tree.sync(guild=guild)
                except discord.HTTPException as exc:
                    log.error(
                        "discord: could not register /%s in guild %s (%s); is newsbot in that server, invited "
                        "with the applications.commands scope? (discord.guild_ids)",
                        self.settings.command,
                        guild_id,
                        describe(exc),
                    )
            return
        self.tree.add_command(group, override=True)
        local = [c.to_dict(self.tree) for c in self.tree.get_commands()]
        app_id = self.client.application_id
        remote = await self.client.http.get_global_commands(app_id) if app_id else []
        if _canonical(local) == _canonical(remote):
            log.info("discord: global /%s is up to date", self.settings.command)
            return
        await self.tree.sync()
        log.info("discord: registered /%s globally (Discord may take a while to show changes)", self.settings.command)


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
