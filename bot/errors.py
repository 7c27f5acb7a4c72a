"""The one exception tree of newsbot.

NewsbotError
 +-- ConfigError      bad or missing settings; the CLI exits with code 2
 +-- UserInputError   a command's arguments are wrong; the reply says how to fix them
 +-- FeedError        a feed could not be fetched or parsed; other feeds carry on
 |    +-- FetchRefusedError  the URL or address is not allowed (scheme, private network)
 +-- StorageError     the database refused or is at an unknown schema version
 |    +-- StorageConflict  another process wrote the same rows at the same moment
 |    +-- StorageBusy      the database stayed locked longer than the caller can wait
 +-- PostError        a platform refused a message; the digest stays pending
Every message says what was wrong and, where it can, what to do about it.
"""

from __future__ import annotations


class NewsbotError(Exception):
    """Root of every error newsbot raises on purpose."""


class ConfigError(NewsbotError):
    """A setting is missing or invalid; `key` is its dotted path in the config."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


class UserInputError(NewsbotError):
    """A command was given arguments it cannot use."""


class FeedError(NewsbotError):
    """A feed failed; `url` says which, the message says why."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem


class FetchRefusedError(FeedError):
    """The fetcher will not go to this URL (scheme, local path or address not allowed)."""


class StorageError(NewsbotError):
    """The database could not do what was asked."""


class StorageConflict(StorageError):
    """Another process stored the same rows at the same moment: nothing was written, try again."""


class StorageBusy(StorageError):
    """Another connection held the lock this unit of work needed for longer than its caller can wait.

    Nothing of the failed statement's transaction was written; the unit may be run again.
    """


# PostError reasons a channel's manager can fix (a permission, the bot removed, an archived channel,
# a scope): the core tells them by DM. Adapters translate their platform's errors into these words.
NEEDS_MANAGER = frozenset({"forbidden", "gone", "not_member", "archived", "missing_scope"})


class PostError(NewsbotError):
    """A platform refused to post; `retryable` tells whether trying later may work.

    `unknown` means the answer was lost (timeout, dropped connection, server error): the platform
    may have posted the message, so it must be looked for before it is sent again.
    `reason` is why, as a word the core acts on (NEEDS_MANAGER) or else the platform's own code.
    """

    def __init__(
        self, message: str, *, retryable: bool = True, unknown: bool = False, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable or unknown
        self.unknown = unknown
        self.reason = reason
