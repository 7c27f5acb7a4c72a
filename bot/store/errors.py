"""The store's edge for errors: every SQLAlchemy error becomes a StorageError once, here.

Callers above the store see only bot.errors: StorageBusy when a lock wait ran out (SQLite's
busy timeout, PostgreSQL's lock_timeout), StorageError for anything else (the store raises
StorageConflict itself where it knows a unique-key race is harmless), with the driver's reason.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.errors import StorageBusy, StorageError

# SQLSTATEs a PostgreSQL lock wait ends with: lock_not_available (lock_timeout), query_canceled
# (statement_timeout), deadlock_detected and serialization_failure (both safe to run again)
_PG_BUSY = {"55P03", "57014", "40P01", "40001"}


def is_busy(exc: BaseException) -> bool:
    """Did the database refuse because another connection held a lock too long?"""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in _PG_BUSY:
        return True
    text = str(orig if orig is not None else exc).lower()
    return isinstance(exc, sa.exc.OperationalError) and (
        "database is locked" in text or "database table is locked" in text
    )


def translate(exc: BaseException) -> BaseException:
    """The StorageError for an SQLAlchemy error; anything else is returned as it is."""
    if isinstance(exc, StorageError) or not isinstance(exc, sa.exc.SQLAlchemyError):
        return exc
    orig = getattr(exc, "orig", None)
    detail = str(orig if orig is not None else exc).strip().splitlines()[0][:300]
    if is_busy(exc):
        return StorageBusy(f"the database is busy (another newsbot job holds its lock): {detail}")
    return StorageError(f"the database refused: {detail}")
