"""Open a database by URL: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL (lock timeout).

A statement waits at most LOCK_WAIT_MS for another connection's lock, on both databases: less
than the 3 s Slack and Discord allow for an acknowledgement, so nobody waits on a lock silently;
bot.storage decides whether the unit of work tries again (background) or says so (a command).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.errors import StorageError

LOCK_WAIT_MS = 2000  # bot.storage.LOCK_WAIT_SECONDS


def create_engine(url: str) -> Engine:
    """An engine for `url`; SQLite connections get the pragmas a long-running bot needs."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        # lock_timeout bounds each wait for a row or table lock (create_digest's FOR SHARE behind a poll)
        connect_args["options"] = f"-c lock_timeout={LOCK_WAIT_MS}"
    try:
        engine = sa.create_engine(url, connect_args=connect_args)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StorageError(f"cannot use the database URL: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the poller write while a digest reads; busy_timeout rides out short write locks
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
