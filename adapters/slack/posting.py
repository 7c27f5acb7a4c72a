"""Posting to Slack politely: per-channel pacing, 429 waits, and platform errors made readable.

`Pacer` keeps about one post per second per channel (Slack's chat.postMessage rate);
`RateLimitRetry` is slack_sdk's 429 handler with its wait logged and its jitter bounded;
`ReadRetry` is slack_sdk's connection-error retry for every call but chat.postMessage, whose
lost answer goes to the core's look-first path instead of a blind resend;
`post_error` turns a Slack error code into a PostError that says what to do.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.errors import PostError

log = logging.getLogger(__name__)

# Codes that say this one message can never be posted (its content is refused): the core skips
# that story. Everything else (channel, permissions, token, rate, outage) is something a person
# or time can fix, so it stays retryable and nothing is dropped for it.
PERMANENT = {"invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long", "no_text"}
# Problems with the channel that whoever manages it can fix, in the core's words (PostError.reason,
# bot.errors.NEEDS_MANAGER): the core tells the channel's manager by DM.
REASONS = {
    "not_in_channel": "not_member",
    "channel_not_found": "gone",
    "is_archived": "archived",
    "restricted_action": "forbidden",
    "missing_scope": "missing_scope",
}
HINTS = {
    "not_in_channel": "the bot is not a member of that channel: invite it there (/invite @newsbot)",
    "channel_not_found": "no such channel, or it is private and the bot was not invited: check the channel id",
    "is_archived": "the channel is archived: unarchive it or point the subscription elsewhere",
    "invalid_auth": "Slack rejected the bot token: check the variable named by slack.bot_token_env",
    "not_authed": "no bot token was sent: check the variable named by slack.bot_token_env",
    "token_revoked": "the bot token was revoked (the app was uninstalled?): reinstall the app",
    "account_inactive": "the bot's token belongs to a deactivated app or workspace: reinstall the app",
    "missing_scope": "the app lacks a scope: reinstall it from adapters/slack/manifest.yml",
    "restricted_action": "a workspace setting stops the bot from posting in that channel",
    "no_installation": "newsbot is not installed in that workspace: install it through /slack/install",
    "invalid_blocks": "Slack refused the message layout (a newsbot bug, please report it)",
    "msg_too_long": "Slack refused the message as too long (a newsbot bug, please report it)",
    "ratelimited": "Slack kept answering 429 (rate limited); the rest follows on the next run",
}


# Slack's own failures: the method docs warn that part of the call may have been carried out, so a
# post answered with one of these may exist
SERVER_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}


def status_of(exc: SlackApiError) -> int | None:
    # slack_sdk raises SlackApiError with aiohttp's own response when the body is not JSON
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return status if isinstance(status, int) else None


def error_code(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    status = status_of(exc)
    return f"HTTP {status}" if status is not None else "unknown error"


def post_error(action: str, where: str, code: str, *, unknown: bool = False) -> PostError:
    """A PostError naming the Slack error code and what to do about it (never a token); its reason
    is the core's word for the problem where there is one (REASONS), else Slack's code."""
    hint = HINTS.get(code)
    message = f"Slack refused {action} in {where}: {code}" + (f" ({hint})" if hint else "")
    return PostError(message, retryable=code not in PERMANENT, unknown=unknown, reason=REASONS.get(code, code))


# reads after trouble (conversations.history/replies) may wait longer: Slack limits them to about one a
# minute for new apps outside its Marketplace, and a look that never gets through would wedge the digest
READ_MAX_WAIT_SECONDS = 75.0
# a longer Retry-After gives up on the call: the digest is retried later (its lease is kept meanwhile by
# the core's heartbeat, so a wait never lets another worker take it over)
MAX_WAIT_SECONDS = 30.0


class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (retries only status 429), waiting Retry-After plus bounded jitter.

    The stock handler always adds up to a second of jitter; making it a parameter keeps tests
    fast and lets the wait be logged, so a slow digest shows why it is slow.
    """

    def __init__(
        self,
        max_retry_count: int = 8,
        jitter: float = 1.0,
        on_wait: Callable[[str, float], None] | None = None,
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.jitter = jitter
        self.on_wait = on_wait
        self.waits = 0

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("retry without a response")
        header = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        try:
            after = float(header[0] if isinstance(header, list) else header) if header else 1.0
        except ValueError:
            after = 1.0
        method = request.url.rsplit("/", 1)[-1]
        if after > (READ_MAX_WAIT_SECONDS if method.startswith("conversations.") else MAX_WAIT_SECONDS):
            # a long wait would outlast the digest's lease: give up on this call (a retryable
            # error), and the digest continues when its retry time comes
            log.warning("Slack rate-limited %s for %.0fs; leaving the rest for later", method, after)
            return
        seconds = max(0.0, after) + random.random() * self.jitter
        log.warning("Slack rate-limited %s; waiting %.1fs before retrying", method, seconds)
        self.waits += 1
        if self.on_wait is not None:
            self.on_wait(method, seconds)
        state.next_attempt_requested = True
        await asyncio.sleep(seconds)
        state.increment_current_attempt()


# Calls that create something: resending one after a dropped connection may post it twice.
NOT_IDEMPOTENT = ("chat.postMessage",)


class ReadRetry(AsyncConnectionErrorRetryHandler):
    """slack_sdk's connection-error retry, except for calls that post: Slack may have stored the
    message before the connection dropped, so the core looks at the channel before posting again."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rsplit("/", 1)[-1] in NOT_IDEMPOTENT:
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


def retry_handlers(jitter: float = 1.0, max_retries: int = 8) -> list[AsyncRetryHandler]:
    # slack_sdk's default is the connection-error handler alone (which would resend a post);
    # 429 retry has to be added, and is safe: a 429 means nothing was posted
    return [ReadRetry(), RateLimitRetry(max_retry_count=max_retries, jitter=jitter)]


class Pacer:
    """At most one post per `interval` seconds per channel, in the order they were asked for."""

    def __init__(
        self,
        interval: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self.monotonic = monotonic
        self.sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._next: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, channel: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            wait = self._next.get(channel, 0.0) - self.monotonic()
            if wait > 0:
                await self.sleep(wait)
            try:
                yield
            finally:
                # counted from the end of the call: a slow or retried post is not followed by a burst
                self._next[channel] = self.monotonic() + self.interval
