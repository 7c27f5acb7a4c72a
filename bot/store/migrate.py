"""Bring a database to the current schema with Alembic, in place, all or nothing, losing nothing.

`upgrade()` is idempotent: on an up-to-date database it does nothing. A database
written by a newer newsbot is refused rather than guessed at.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from bot.errors import StorageError
from bot.store.engine import LOCK_WAIT_MS
from bot.store.schema import metadata

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


MIGRATION_LOCK_WAIT_MS = 60_000


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Migrate to `target` (the newest by default); returns (revision before, revision after).

    All or nothing on both databases: the whole upgrade, DDL included, is one transaction
    (on SQLite through the engine's BEGIN recipe, see bot.store.engine), so a kill at any point
    leaves the database as it was. A database an older newsbot left half-made is repaired when
    nothing in it can be lost, and refused with what to do otherwise.
    """
    script = ScriptDirectory.from_config(_config())
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            _sqlite_transactional(conn)
        try:
            with conn.begin():
                if not sqlite:
                    # two workers starting together: the second waits (as long as the first takes,
                    # not the lock wait units of work get), then finds nothing to do
                    conn.execute(sa.text("SET LOCAL lock_timeout = 0"))
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(7468310001)"))
                before = current_revision(conn)
                known = {rev.revision for rev in script.walk_revisions()}
                if before is not None and before not in known:
                    raise StorageError(
                        f"the database is at schema revision {before}, which this newsbot does not know; "
                        "it was written by a newer version: upgrade newsbot or point bot.database elsewhere"
                    )
                wanted = script.get_current_head() if target == "head" else target
                if before is not None and before == wanted:
                    return before, before
                if before is None:
                    _clear_unversioned(conn)
                cfg = _config()
                cfg.attributes["connection"] = conn
                try:
                    command.upgrade(cfg, target)
                except sa.exc.DatabaseError as exc:
                    raise StorageError(_half_migrated(before, wanted, exc)) from None
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise StorageError("the migration left rows whose references are broken; nothing was changed")
                after = current_revision(conn)
        finally:
            if sqlite:
                _sqlite_restore(conn)
    assert after is not None
    return before, after


# what an interrupted first start of an older newsbot (before migrations were atomic) can leave
_OWN_TABLES = (*(t.name for t in reversed(metadata.sorted_tables)), "articles_fts")


def _sqlite_transactional(conn: Connection) -> None:
    """SQLAlchemy's documented recipe for transactional DDL on pysqlite, for this connection.

    pysqlite runs a CREATE TABLE outside any transaction (it only opens one before DML), so a
    kill mid-migration used to leave half a schema. With the driver's own handling off, the
    "begin" listener emits BEGIN IMMEDIATE itself: every statement of the upgrade is inside one
    transaction, and the write lock is taken up front, so a second process starting at the same
    time waits (busy_timeout) and then finds the schema done.
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.isolation_level = None
    # a migration that rebuilds a table must not cascade-delete the rows that point at it;
    # the pragma only takes effect outside a transaction
    raw.execute("PRAGMA foreign_keys=OFF")
    # a second process starting meanwhile waits for the whole migration, not one statement's lock wait
    raw.execute(f"PRAGMA busy_timeout={MIGRATION_LOCK_WAIT_MS}")
    event.listen(conn, "begin", _begin_immediate)


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_restore(conn: Connection) -> None:
    """Give the pooled connection back as the rest of newsbot expects it."""
    event.remove(conn, "begin", _begin_immediate)
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
    raw.isolation_level = ""  # pysqlite's default


def _clear_unversioned(conn: Connection) -> None:
    """Drop newsbot's tables from a database with no schema revision, if they are all empty.

    Only an older newsbot killed during its first migration leaves such tables (it had no data
    yet); with rows in them the database is refused instead, never guessed at.
    """
    present = set(sa.inspect(conn).get_table_names())
    leftovers = [name for name in _OWN_TABLES if name in present]
    if not leftovers:
        return
    quoted = conn.dialect.identifier_preparer.quote
    holding = [
        name for name in leftovers if conn.exec_driver_sql(f"SELECT 1 FROM {quoted(name)} LIMIT 1").first() is not None
    ]
    if holding:
        raise StorageError(
            f"the database has newsbot tables ({', '.join(sorted(holding))}) with rows in them but no schema "
            "revision, so newsbot cannot tell which version made them; restore the database from a backup, "
            "or move it aside to start with a new one (feeds and subscriptions declared in the config come back)"
        )
    log.warning("the database holds the empty tables of an interrupted first start; making them again")
    cascade = "" if conn.dialect.name == "sqlite" else " CASCADE"
    for name in leftovers:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quoted(name)}{cascade}")


def _half_migrated(before: str | None, wanted: str | None, exc: sa.exc.DatabaseError) -> str:
    return (
        f"cannot upgrade the database schema from revision {before or '(none)'} to {wanted}: {exc.orig}; "
        "nothing was changed. An older newsbot stopped in the middle of an upgrade leaves a database like "
        "this: restore it from the backup made before upgrading, or move it aside to start with a new one "
        "(feeds and subscriptions declared in the config come back)"
    )
