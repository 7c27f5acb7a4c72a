"""The one thread boundary between the event loop and the database.

Every unit of work on the store (plan a digest, record a post, apply a command: a plain function
over a storage port, one or a few short transactions) is handed to `Storage.run`, which runs it on
a small pool of worker threads. The loop that acknowledges chat commands, renews leases and reads
the platforms never waits on a lock or a slow disk (as apscheduler 4's SQLAlchemy data store does
with its worker thread). Several threads, not one: SQLite in WAL mode reads while another
connection writes, so a command's lookup need not queue behind a poll's big store step.

Errors come out as bot.errors only. A lock wait is bounded per statement (SQLite busy_timeout,
PostgreSQL lock_timeout: LOCK_WAIT_SECONDS, below the 3 s any platform allows for an
acknowledgement); `patience` says how long the caller will keep trying: a command gives up after
COMMAND_PATIENCE and says the database is busy, background work keeps trying for a minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from bot.errors import StorageBusy

log = logging.getLogger(__name__)

S_co = TypeVar("S_co", covariant=True)
T = TypeVar("T")

LOCK_WAIT_SECONDS = 2.0  # one statement's wait for another connection's lock (bot/store/engine.py)
COMMAND_PATIENCE = 2.5  # a person is waiting: one lock wait, then say so
BACKGROUND_PATIENCE = 60.0  # polls, digests, notices: a long write elsewhere is no reason to give up
THREADS = 4


class Storage(Generic[S_co]):
    """Runs units of work over `store` off the event loop; `S_co` is the port the caller sees."""

    def __init__(
        self,
        store: S_co,
        *,
        translate: Callable[[BaseException], BaseException] = lambda exc: exc,
        threads: int = THREADS,
    ) -> None:
        self._store = store
        self._translate = translate
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="newsbot-db")

    async def run(self, work: Callable[[S_co], T], *, patience: float = BACKGROUND_PATIENCE) -> T:
        """`work(store)` on a database thread; a busy database is tried again until `patience` runs out.

        A unit must be safe to run again after StorageBusy: each store call is its own transaction,
        and the one that waited too long wrote nothing.
        """
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + patience
        pause = 0.05
        while True:
            try:
                return await loop.run_in_executor(self._pool, self._call, work)
            except StorageBusy:
                # another try may wait a whole lock wait again: only if that still ends within patience
                if time.monotonic() + pause + LOCK_WAIT_SECONDS > deadline:
                    raise
                log.debug("the database is busy; trying again in %.2f s", pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)

    def call(self, work: Callable[[S_co], T]) -> T:
        """`work(store)` in the calling thread, for code that is not on the event loop (the CLI's
        start-up, the poll's parse thread); errors translated like `run`'s."""
        return self._call(work)

    def _call(self, work: Callable[[S_co], T]) -> T:
        try:
            return work(self._store)
        except BaseException as exc:
            translated = self._translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    def close(self) -> None:
        self._pool.shutdown(wait=True)
