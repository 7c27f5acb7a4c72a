"""Inserts that two processes may race on: ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike.

Two newsbot processes starting together on a fresh database both find "no such feed" and both
insert it; with these, the second insert does nothing and the caller reads the row the first made
("someone else did it"), instead of a UniqueViolation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa


def insert_missing(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> int:
    """Insert the `rows` whose `keys` (a unique constraint's columns) are not taken; returns how many went in."""
    if not rows:
        return 0
    dialect = dialect_of(conn)
    # counted by RETURNING: psycopg reports no rowcount for this statement
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys)).returning(*table.primary_key.columns)
    return sum(len(conn.execute(stmt, dict(row)).all()) for row in rows)


def dialect_of(conn: sa.Connection) -> Any:
    """The SQLAlchemy dialect module of this connection, for its INSERT ... ON CONFLICT."""
    # here, not at the top: importing the PostgreSQL dialect (and its drivers' modules) costs a
    # SQLite start a twentieth of a second; the engine has loaded its own dialect already
    from sqlalchemy.dialects import postgresql, sqlite

    return sqlite if conn.dialect.name == "sqlite" else postgresql
