"""Stopping cleanly on SIGTERM: the message being posted is finished, no new one is started.

`PostGate` sits in front of each adapter's digest posts (App installs it). Once closed, the post
in flight still completes and is recorded as usual; the next post raises `Stopping` instead of
reaching the platform. Delivery treats any exception that is not a PostError as "give the claim
back" (its claim is released at once, so the next run carries the digest on without waiting for a
lease to run out), and the position it was about to post is looked for in the channel first next
time, as after any interruption.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at run time the CLI imports Stopping without the ports and models
    from bot.ports import ChatAdapter

# the digest posts; notices are one message each and are left to finish their short queue
_GATED = ("post_parent", "post_story", "post_update")


class Stopping(BaseException):
    """Raised instead of starting a post once a stop was asked for.

    A BaseException, like KeyboardInterrupt: code that catches Exception to carry on with the next
    channel must not catch it and carry on posting.
    """


class PostGate:
    """Closed by a stop request; guards the adapters it is installed on."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def install(self, adapter: ChatAdapter) -> None:
        for name in _GATED:
            post = getattr(adapter, name, None)
            if post is not None:  # an adapter (or a test's stand-in) that only posts notices has none
                setattr(adapter, name, self._guard(post))

    def _guard(self, post: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(post)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            if self.closed:
                raise Stopping
            return await post(*args, **kwargs)

        return guarded
