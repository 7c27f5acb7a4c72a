"""SlackAdapter: the core's ChatAdapter and CommandSource for Slack, on slack_sdk's AsyncWebClient.

A digest is a parent message plus one reply per story (thread_ts = the parent's ts, recorded
by the core and handed back on resume), paced per channel and retried on 429. Each carries
message metadata (the digest's key and position), which `find_posted` reads back with
conversations.history/replies after a crash or a lost answer. `start` serves the slash command
over Socket Mode or HTTP, optionally with the multi-workspace OAuth install.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from adapters.slack.app import EVENTS_PATH, SCOPES, Managers, build_app
from adapters.slack.posting import (
    SERVER_ERRORS,
    Pacer,
    error_code,
    post_error,
    retry_handlers,
    status_of,
)
from bot.config import Settings, SlackSettings
from bot.errors import ConfigError, PostError
from bot.models import ChannelRef, Digest, DigestStory, DigestUpdate, FoundPosts, PostedMessage
from bot.ports import CommandHandler, Taken

if TYPE_CHECKING:  # serving only: `start` imports them (see adapters/slack/app.py)
    from aiohttp import web
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)
AUTH_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "account_inactive"}
EVENT_TYPE = "newsbot_digest_post"  # the metadata event type on every digest message
PAGE = 200  # messages per conversations.history/replies page
HISTORY_PAGES = 5  # how far back the parent of an unrecorded digest is looked for
REPLY_PAGES = 10  # a digest thread holds at most 51 of ours, but members may reply in it
CLOCK_SKEW = timedelta(minutes=5)  # Slack's clock against ours, when looking for a parent by time
GONE_THREAD = ("thread_not_found", "cannot_reply_to_message", "message_not_found")  # an earlier thread deleted


@dataclass(frozen=True)
class SlackSecrets:
    """The secrets one mode needs; repr hides them so a logged object never shows one."""

    bot_token: str | None = None
    app_token: str | None = None
    signing_secret: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    def __repr__(self) -> str:
        present = [k for k, v in vars(self).items() if v]
        return f"SlackSecrets(<{', '.join(present) or 'none'} set>)"


class SlackAdapter:
    name = "slack"

    def __init__(
        self,
        config: SlackSettings,
        secrets: SlackSecrets,
        *,
        database_url: str | None = None,
        retry_jitter: float = 1.0,
        max_retries: int = 8,
        admin_cache_seconds: float = 300.0,
    ) -> None:
        self.config = config
        self._secrets = secrets
        self.database_url = database_url
        self.client = AsyncWebClient(
            token=None if config.oauth else secrets.bot_token,
            base_url=config.api_base_url,
            retry_handlers=retry_handlers(jitter=retry_jitter, max_retries=max_retries),
            logger=logging.getLogger("slack_sdk.web"),
        )
        self.pacer = Pacer(config.post_interval_seconds)
        self.managers = Managers(config.managers, ttl=admin_cache_seconds)
        self.installations: AsyncInstallationStore | None = None
        self._state_store: AsyncOAuthStateStore | None = None
        self.bolt: AsyncApp | None = None
        self.http_port: int | None = None  # the bound port once HTTP mode is listening
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, serving: bool = True) -> SlackAdapter:
        """Read the secrets the configured mode needs; a missing one is a ConfigError naming its key.

        With `serving=False` (`digest --once`, `poll --once`: post, never listen) only what posting
        needs is read: the app-level token and the signing secret serve the slash command only.
        """
        s = settings.slack
        secrets = SlackSecrets(
            bot_token=None if s.oauth else _token(settings, "slack.bot_token_env", s.bot_token_env, "xoxb-"),
            app_token=_token(settings, "slack.app_token_env", s.app_token_env, "xapp-")
            if s.mode == "socket" and serving
            else None,
            signing_secret=settings.secret("slack.signing_secret_env", s.signing_secret_env)
            if s.mode == "http" and serving
            else None,
            client_id=settings.secret("slack.client_id_env", s.client_id_env) if s.oauth else None,
            client_secret=settings.secret("slack.client_secret_env", s.client_secret_env) if s.oauth else None,
        )
        if not s.oauth and _is_set(settings, "SLACK_CLIENT_ID") and _is_set(settings, "SLACK_CLIENT_SECRET"):
            # slack-bolt reads these two by itself and then ignores the bot token
            raise ConfigError(
                "slack.oauth",
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set (even empty), which makes slack-bolt switch to the "
                "multi-workspace install; unset them, or set slack.oauth = true",
            )
        return cls(s, secrets, database_url=settings.database_url)

    # --- posting (ChatAdapter) -------------------------------------------------------------

    async def post_parent(self, channel: ChannelRef, digest: Digest) -> PostedMessage:
        message = render.parent_message(digest)
        if digest.updates:
            message = render.with_developing(message, digest, await self._permalinks(channel, digest.updates))
        ts = await self._post(channel, message, None, "the digest", _metadata(digest, 0))
        return PostedMessage(ref=ts, thread_ref=ts)

    async def post_update(self, channel: ChannelRef, digest: Digest, update: DigestUpdate) -> PostedMessage:
        thread = update.reply_to.thread_ref or update.reply_to.ref
        what = f"the update of story {update.story_id}"
        try:
            ts = await self._post(
                channel, render.update_message(update), thread, what, _metadata(digest, update.position)
            )
        except PostError as exc:
            if not exc.unknown and any(code in str(exc) for code in GONE_THREAD):
                # the earlier thread was deleted: the update can never go there (the Developing line tells it)
                raise PostError(str(exc), retryable=False) from None
            raise
        return PostedMessage(ref=ts, thread_ref=thread)

    async def _permalinks(self, channel: ChannelRef, updates: tuple[DigestUpdate, ...]) -> dict[int, str]:
        """chat.getPermalink of each follow-up's earlier message; one that fails is shown without a link."""
        team, channel_id = self.target(channel)
        token = await self._token_for(team, channel)
        extra: dict[str, Any] = {"token": token} if token else {}
        links: dict[int, str] = {}
        for update in updates:
            try:
                answer = await self.client.chat_getPermalink(
                    channel=channel_id, message_ts=update.reply_to.ref, **extra
                )
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("Slack: no link to the earlier thread of story %s: %s", update.story_id, exc)
                continue
            permalink = answer.get("permalink")
            if isinstance(permalink, str) and permalink:
                links[update.position] = permalink
        return links

    async def post_story(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage, story: DigestStory, position: int
    ) -> PostedMessage:
        thread = parent.thread_ref or parent.ref
        message = render.story_message(story, position)
        ts = await self._post(channel, message, thread, f"story {position}", _metadata(digest, position))
        return PostedMessage(ref=ts, thread_ref=thread)

    async def find_posted(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage | None, *, taken: Taken | None = None
    ) -> FoundPosts:
        """The digest's messages Slack already has, found by their metadata: the parent in the
        channel's recent history (when not known), then the stories in its thread."""
        team, channel_id = self.target(channel)
        token = await self._token_for(team, channel)
        extra: dict[str, Any] = {"token": token} if token else {}
        if parent is None:
            oldest = f"{(digest.created_at - CLOCK_SKEW).timestamp():.6f}" if digest.created_at else None
            async for message in self._pages(
                "conversations_history", channel, HISTORY_PAGES, channel=channel_id, oldest=oldest, **extra
            ):
                if _position(message, digest) == 0:
                    parent = PostedMessage(ref=str(message["ts"]), thread_ref=str(message["ts"]))
                    break
            if parent is None:
                return FoundPosts()
        thread = parent.thread_ref or parent.ref
        stories: dict[int, PostedMessage] = {}
        async for message in self._pages(
            "conversations_replies", channel, REPLY_PAGES, channel=channel_id, ts=thread, **extra
        ):
            position = _position(message, digest)
            if position is not None and position > 0 and position not in stories:
                stories[position] = PostedMessage(ref=str(message["ts"]), thread_ref=thread)
        # follow-ups are replies in their stories' earlier threads: each such thread read once
        for earlier in dict.fromkeys(u.reply_to.thread_ref or u.reply_to.ref for u in digest.updates):
            try:
                async for message in self._pages(
                    "conversations_replies", channel, REPLY_PAGES, channel=channel_id, ts=earlier, **extra
                ):
                    position = _position(message, digest)
                    if position is not None and position > 0 and position not in stories:
                        stories[position] = PostedMessage(ref=str(message["ts"]), thread_ref=earlier)
            except PostError as exc:
                if exc.unknown or not any(code in str(exc) for code in GONE_THREAD):
                    raise
                # a deleted earlier thread holds no follow-up of ours: nothing there
        return FoundPosts(parent=parent, stories=stories)
        return FoundPosts(parent=parent, stories=stories)

    async def _pages(
        self, method: str, where: ChannelRef, max_pages: int, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """The messages of a conversations.history/replies listing, page by page, with their metadata."""
        cursor: str | None = None
        pages = 0
        while pages < max_pages:
            try:
                response = await getattr(self.client, method)(
                    include_all_metadata=True, limit=PAGE, cursor=cursor, **kwargs
                )
            except SlackApiError as exc:
                raise post_error("to read back the digest's messages", str(where), error_code(exc)) from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise PostError(
                    f"could not reach Slack at {self.config.api_base_url} to read {where}: {type(exc).__name__}"
                ) from None
            pages += 1
            for message in response.get("messages") or []:
                if isinstance(message, dict):
                    yield message
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor or not response.get("has_more", True):
                return
        # what was not read may hold it: that is "cannot tell", never "not there"
        raise PostError(
            f"{where} has more than {max_pages * PAGE} messages since the digest was planned; "
            "newsbot cannot tell whether its parent is among them",
            unknown=True,
        )

    async def post_notice(self, channel: ChannelRef, text: str) -> PostedMessage:
        return PostedMessage(ref=await self._post(channel, render.notice_message(text), None, "a notice"))

    async def post_direct(self, channel: ChannelRef, user: str, text: str) -> PostedMessage:
        """A message in the app's DM with `user` (a user id as the channel does that), sent with the
        token of `channel`'s workspace."""
        team, _ = self.target(channel)
        where = ChannelRef(channel.platform, f"{team}/{user}" if team else user)
        return PostedMessage(ref=await self._post(where, render.notice_message(text), None, "a direct message"))

    def target(self, channel: ChannelRef) -> tuple[str | None, str]:
        """(team id or None, channel id) from "C0123" or, for multi-workspace installs, "T0123/C0456"."""
        team, sep, rest = channel.channel.partition("/")
        return (team, rest) if sep else (None, team)

    def channel_ref(self, team: str, channel: str) -> ChannelRef:
        return ChannelRef("slack", f"{team}/{channel}" if self.config.oauth else channel)

    async def _token_for(self, team: str | None, channel: ChannelRef) -> str | None:
        if not self.config.oauth:
            return None  # the client's own bot token
        if team is None:
            raise PostError(
                f"{channel}: with slack.oauth on, a Slack channel is written slack:<team id>/<channel id>",
                retryable=False,
            )
        store = self.installations or await self._open_installations()
        bot = await store.async_find_bot(enterprise_id=None, team_id=team)
        if bot is None or not bot.bot_token:
            raise post_error("the post", str(channel), "no_installation")
        return bot.bot_token

    async def _post(
        self,
        channel: ChannelRef,
        message: dict[str, Any],
        thread_ts: str | None,
        what: str,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        team, channel_id = self.target(channel)
        token = await self._token_for(team, channel)
        kwargs: dict[str, Any] = {
            "channel": channel_id,
            "text": message["text"],
            "blocks": message["blocks"],
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        if token:
            kwargs["token"] = token
        if metadata:
            kwargs["metadata"] = metadata
        failure: PostError | None = None
        async with self.pacer.slot(channel.channel):
            try:
                response = await self.client.chat_postMessage(**kwargs)
            except SlackApiError as exc:
                code = error_code(exc)
                # Slack's side failed after the request arrived: it may have posted it
                unknown = (status_of(exc) or 0) >= 500 or code in SERVER_ERRORS
                failure = post_error(f"to post {what}", str(channel), code, unknown=unknown)
            except aiohttp.ClientConnectorError as exc:
                # no connection was made, so nothing was sent
                raise PostError(
                    f"could not reach Slack at {self.config.api_base_url} to post {what} in {channel}: "
                    f"{type(exc).__name__} {exc}".rstrip(),
                ) from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise PostError(
                    f"Slack's answer to posting {what} in {channel} was lost ({type(exc).__name__}); "
                    "the message may be there",
                    unknown=True,
                ) from None
            except Exception as exc:  # e.g. a proxy's HTML error page where JSON was expected
                log.error("Slack answered %s in a way slack_sdk could not read", what, exc_info=exc)
                raise PostError(
                    f"Slack's answer to posting {what} in {channel} could not be read ({type(exc).__name__})",
                    unknown=True,
                ) from None
        if failure is not None:
            raise failure
        ts = response.get("ts")
        if not isinstance(ts, str) or not ts:
            raise PostError(f"Slack accepted {what} in {channel} but returned no message ts")
        return ts

    # --- commands (CommandSource) ----------------------------------------------------------

    async def start(self, handle: CommandHandler) -> None:
        """Check the token, then listen for the slash command over Socket Mode or HTTP, and return."""
        from aiohttp import web
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
        from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

        socket = self.config.mode == "socket"
        secret, env = (
            ("app_token", self.config.app_token_env) if socket else ("signing_secret", self.config.signing_secret_env)
        )
        if not getattr(self._secrets, secret):  # read only for serving (from_settings)
            raise ConfigError(f"slack.{secret}_env", f"serving the slash command needs ${env}; set it, or only post")
        oauth_settings = None
        if self.config.oauth:
            store = await self._open_installations()
            oauth_settings = AsyncOAuthSettings(
                client_id=self._secrets.client_id,
                client_secret=self._secrets.client_secret,
                scopes=list(SCOPES),
                installation_store=store,
                state_store=self._state_store,
                installation_store_bot_only=True,
            )
        else:
            await self._check_token()
        self.bolt = build_app(
            command=self.config.command,
            client=self.client,
            handle=handle,
            managers=self.managers,
            channel_ref=self.channel_ref,
            signing_secret=self._secrets.signing_secret if self.config.mode == "http" else None,
            oauth_settings=oauth_settings,
        )
        if self.config.mode == "socket":
            self._socket = AsyncSocketModeHandler(self.bolt, app_token=self._secrets.app_token)
            # slack_sdk's connect() retries every error forever, so a bad app token would hang here
            # silently: ask for the WebSocket URL ourselves once, and hand it over
            self._socket.client.wss_uri = await self._socket_url()
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack: listening for %s over Socket Mode", self.config.command)
        else:
            self._runner = web.AppRunner(self.bolt.web_app(path=EVENTS_PATH), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.http_host, self.config.http_port)
            try:
                await site.start()
            except OSError as exc:
                await self._runner.cleanup()
                raise ConfigError(
                    "slack.http_port",
                    f"cannot listen on {self.config.http_host}:{self.config.http_port}: {exc.strerror or exc}; "
                    "pick a free port",
                ) from None
            self.http_port = int(self._runner.addresses[0][1])
            log.info(
                "Slack: listening for %s on http://%s:%d%s%s",
                self.config.command,
                self.config.http_host,
                self.http_port,
                EVENTS_PATH,
                " (install at /slack/install)" if self.config.oauth else "",
            )

    async def stop(self) -> None:
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _socket_url(self) -> str:
        try:
            opened = await self.client.apps_connections_open(app_token=self._secrets.app_token or "")
        except SlackApiError as exc:
            code = error_code(exc)
            if code in AUTH_ERRORS:
                raise ConfigError(
                    "slack.app_token_env",
                    f"Slack rejected the app-level token in ${self.config.app_token_env} ({code}); "
                    "it needs the connections:write scope",
                ) from None
            raise PostError(f"could not open the Socket Mode connection: {code}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PostError(f"could not reach Slack at {self.config.api_base_url}: {exc}") from None
        return str(opened["url"])

    async def _check_token(self) -> None:
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            code = error_code(exc)
            if code in AUTH_ERRORS:
                raise ConfigError(
                    "slack.bot_token_env", f"Slack rejected the bot token in ${self.config.bot_token_env} ({code})"
                ) from None
            raise PostError(f"Slack's auth.test failed: {code}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PostError(f"could not reach Slack at {self.config.api_base_url}: {exc}") from None
        log.info("Slack: signed in as %s in %s", auth.get("user"), auth.get("team"))
        granted = {s.strip() for s in str(_header(auth.headers, "x-oauth-scopes") or "").split(",") if s.strip()}
        missing = [s for s in ("channels:history", "groups:history") if granted and s not in granted]
        if missing:
            log.warning(
                "Slack: the app lacks %s: after a crash or a lost answer newsbot cannot check what a channel "
                "shows, so such a digest waits instead of posting; reinstall the app from adapters/slack/manifest.yml",
                ", ".join(missing),
            )

    async def _open_installations(self) -> AsyncInstallationStore:
        if self.installations is None:
            try:
                # slack_sdk's SQLAlchemy stores import sqlalchemy.ext.asyncio, which needs greenlet
                from adapters.slack.stores import open_stores
            except ImportError as exc:
                raise ConfigError(
                    "slack.oauth",
                    f"the multi-workspace install needs SQLAlchemy's asyncio extra ({exc.name} is missing)",
                ) from None
            if not self.database_url:
                raise ConfigError("bot.database", "the Slack multi-workspace install needs the bot's database")
            assert self._secrets.client_id is not None
            installs, states = await asyncio.to_thread(open_stores, self.database_url, self._secrets.client_id)
            self.installations, self._state_store = installs, states
        return self.installations


def _header(headers: Any, name: str) -> Any:
    for key, value in dict(headers or {}).items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) and value else value
    return None


def _metadata(digest: Digest, position: int) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"digest": digest.key, "position": position}}


def _position(message: dict[str, Any], digest: Digest) -> int | None:
    """The digest position a message of ours stands for, from its metadata; None for anything else."""
    meta = message.get("metadata")
    if not isinstance(meta, dict) or meta.get("event_type") != EVENT_TYPE:
        return None
    payload = meta.get("event_payload")
    if not isinstance(payload, dict) or payload.get("digest") != digest.key:
        return None
    position = payload.get("position")
    return position if isinstance(position, int) and not isinstance(position, bool) else None


def _token(settings: Settings, key: str, env_name: str, prefix: str) -> str:
    value = settings.secret(key, env_name)
    if not value.startswith(prefix):
        # say which kind of token is wanted, never what was found
        raise ConfigError(key, f"${env_name} does not hold a Slack token starting with {prefix!r}")
    return value


def _is_set(settings: Settings, env_name: str) -> bool:
    # slack-bolt tests `os.environ.get(name) is not None`: an empty variable counts as set to it
    return env_name in os.environ
