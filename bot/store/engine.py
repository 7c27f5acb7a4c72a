"""Open a database by URL: SQLite (WAL, foreign keys, busy timeout, real transactions) or PostgreSQL.

SQLite connections follow SQLAlchemy's documented recipe for pysqlite: the driver's own
transaction handling is switched off and SQLAlchemy emits BEGIN itself, so every transaction,
DDL included, is all-or-nothing (pysqlite would run a CREATE TABLE outside the transaction,
and a kill mid-migration left a half-made schema behind).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.errors import StorageError


def create_engine(url: str) -> Engine:
    """An engine for `url`; SQLite connections get the pragmas a long-running bot needs."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StorageError(f"cannot use the database URL: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


# execution option: take SQLite's write lock when the transaction starts (a migration must not
# find another process's writes between its reads and its own)
BEGIN_IMMEDIATE = "newsbot_begin_immediate"


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(BEGIN_IMMEDIATE) else "BEGIN")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # no implicit BEGIN/COMMIT from pysqlite: `_sqlite_begin` opens every transaction
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets the poller write while a digest reads; busy_timeout rides out short write locks
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
