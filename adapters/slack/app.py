"""slack-bolt wiring: the AsyncApp, the slash command, and who may change a channel's news.

The slash command is acknowledged first (Slack allows 3 seconds), then run through the core's
CommandHandler, then answered through respond() as an ephemeral message: errors and usage
reach only the caller. Bolt itself verifies signatures (HTTP mode) and resolves tokens.

slack-bolt is imported by `build_app`, not here: a run that only posts (`digest --once`, the
kill sweeps) needs slack_sdk's client and `Managers`, and bolt (with aiohttp's server) would
double the adapter's start-up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import reply_message
from bot.models import ChannelRef, CommandRequest, Reply
from bot.ports import CommandHandler

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck
    from slack_bolt.context.respond.async_respond import AsyncRespond
    from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

log = logging.getLogger(__name__)

# What the manifest asks for: the slash command, posting, and users.info for the admin check.
# the history scopes let newsbot read back its own digest messages after a crash or a lost answer,
# so nothing is posted twice (adapters/slack/adapter.py, find_posted)
SCOPES = ("commands", "chat:write", "users:read", "channels:history", "groups:history")
EVENTS_PATH = "/slack/events"


class Managers:
    """Who may change a channel's subscriptions: "everyone", listed user ids, and/or "admins".

    "admins" means workspace admins and owners, asked of users.info and remembered for
    `ttl` seconds, so a burst of commands costs one lookup per user.
    """

    def __init__(
        self, managers: tuple[str, ...], ttl: float = 300.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.everyone = "everyone" in managers
        self.admins = "admins" in managers
        self.users = {m for m in managers if m not in ("everyone", "admins")}
        self.ttl = ttl
        self.monotonic = monotonic
        self._cache: dict[tuple[str, str], tuple[float, bool]] = {}

    async def can_manage(self, client: AsyncWebClient, team: str, user: str) -> bool:
        if self.everyone or user in self.users:
            return True
        if not self.admins:
            return False
        cached = self._cache.get((team, user))
        if cached is not None and cached[0] > self.monotonic():
            return cached[1]
        try:
            info = await client.users_info(user=user)
        except SlackApiError as exc:
            # not cached: the next command asks again, once the scope or Slack is back
            code = exc.response.get("error", "unknown error") if exc.response is not None else "unknown error"
            log.error("could not check whether %s is a Slack admin (users.info: %s); treating them as not", user, code)
            return False
        member = info.get("user") or {}
        verdict = bool(member.get("is_admin") or member.get("is_owner") or member.get("is_primary_owner"))
        self._cache[(team, user)] = (self.monotonic() + self.ttl, verdict)
        return verdict


class _KnownWarnings(logging.Filter):
    """Drops bolt's warnings about what newsbot does on purpose.

    Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns, on every start, that
    the client newsbot gives it (made from the token the config names, often the same variable) wins,
    or that OAuth's installations do. That is the design, not a problem to report.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # only bolt logs here, so bolt is loaded by the time a record comes
        from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped

        return record.getMessage() not in (warning_client_prioritized_and_token_skipped(), warning_token_skipped())


_BOLT_LOG = logging.getLogger("slack_bolt.AsyncApp")
_BOLT_LOG.addFilter(_KnownWarnings())


def command_text(raw: str) -> str:
    """The text after the command, with Slack's own &amp; &lt; &gt; escaping undone (ampersand last)."""
    return raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def build_app(
    *,
    command: str,
    client: AsyncWebClient,
    handle: CommandHandler,
    managers: Managers,
    channel_ref: Callable[[str, str], ChannelRef],
    signing_secret: str | None,
    oauth_settings: AsyncOAuthSettings | None = None,
) -> AsyncApp:
    """The bolt AsyncApp answering `command`; signatures are checked whenever a signing secret is given."""
    from slack_bolt.async_app import AsyncApp  # see the module docstring

    # oauth_settings carries the installation store; bolt resolves each request's token from it
    kwargs: dict[str, Any] = {} if oauth_settings is None else {"oauth_settings": oauth_settings}
    app = AsyncApp(
        client=client,
        logger=_BOLT_LOG,
        signing_secret=signing_secret or "",
        # Socket Mode carries no signature; bolt skips the check there on its own, this says so
        request_verification_enabled=signing_secret is not None,
        raise_error_for_unhandled_request=False,
        **kwargs,
    )

    async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        await ack()
        reply = await run_command(command, client, handle, managers, channel_ref)
        message = reply_message(reply)
        try:
            await respond(
                text=message["text"], blocks=message["blocks"], response_type="ephemeral", replace_original=False
            )
        except Exception as exc:  # the answer is lost, the work is done: say so in the log
            log.error("could not answer %s from %s: %s", command.get("command"), command.get("user_id"), exc)

    app.command(command)(on_command)
    return app


async def run_command(
    command: dict[str, Any],
    client: AsyncWebClient,
    handle: Callable[[CommandRequest], Awaitable[Reply]],
    managers: Managers,
    channel_ref: Callable[[str, str], ChannelRef],
) -> Reply:
    team = str(command.get("team_id") or "")
    user = str(command.get("user_id") or "")
    try:
        request = CommandRequest(
            channel=channel_ref(team, str(command.get("channel_id") or "")),
            user=user,
            text=command_text(str(command.get("text") or "")),
            can_manage=await managers.can_manage(client, team, user),
        )
        reply = await handle(request)
    except Exception:
        log.exception("the command %r from %s failed", command.get("text"), user)
        return Reply(("Something went wrong inside newsbot; the details are in its log.",), ok=False)
    return reply
