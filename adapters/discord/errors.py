"""What discord.py raises, translated into PostError: a message saying what to fix, and a reason.

The reason ("forbidden", "gone") lets the core decide who is told (bot.delivery DMs the channel's
manager); with `sends`, a lost answer is `unknown`, and the core looks before sending again.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import discord

from bot.errors import PostError
from bot.models import ChannelRef

# Discord JSON error codes this adapter reacts to
UNKNOWN_MESSAGE = 10008
MISSING_ACCESS = 50001
THREAD_ALREADY_CREATED = 160004
ARCHIVED_THREAD = 50083
NEEDED = (
    "View Channel, Send Messages, Embed Links, Create Public Threads, Send Messages in Threads and Read Message History"
)


def describe(exc: discord.HTTPException) -> str:
    text = exc.text or exc.response.reason or ""
    return f"{exc.status} {text} (Discord code {exc.code})" if exc.code else f"{exc.status} {text}".strip()


@contextlib.asynccontextmanager
async def translated(channel: ChannelRef, action: str, likely: str, *, sends: bool = False) -> AsyncIterator[None]:
    """Turn what discord.py raises inside into a PostError that says what to fix.

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
        raise PostError(f"discord: {fix} [{describe(exc)}]", retryable=True, reason="forbidden") from None
    except discord.NotFound as exc:
        if exc.code == UNKNOWN_MESSAGE:
            message = f"discord: the digest's parent message in {where} was deleted, so its thread cannot be made"
        else:
            message = f"discord: {where} no longer exists, or newsbot was removed from its server"
        message += f" [{describe(exc)}]"
        # a deleted parent can never get its thread; a missing channel may come back (the bot re-invited)
        raise PostError(message, retryable=exc.code != UNKNOWN_MESSAGE, reason="gone") from None
    except discord.RateLimited as exc:
        raise PostError(
            f"discord: rate limited for {exc.retry_after:.0f} s; will retry later",
            retryable=True,
            reason="rate_limited",
        ) from None
    except discord.HTTPException as exc:
        # 400 means Discord refuses this very message; anything else may pass later
        retryable = exc.status != 400 or exc.code == ARCHIVED_THREAD
        unknown = sends and exc.status >= 500
        raise PostError(
            f"discord: could not {action} {where}: {describe(exc)}",
            retryable=retryable,
            unknown=unknown,
            reason=str(exc.code or exc.status),
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
