"""Bring a database to the current schema with Alembic, in place, all or nothing, losing nothing.

`upgrade()` is idempotent: on an up-to-date database it does nothing. A database
written by a newer newsbot is refused rather than guessed at.

Alembic (a fifth of a second to import, with Mako and every dialect it supports) is imported
only when there is something to do: nearly every start meets a database already at the newest
revision, which one plain query tells, against the head read from the migration files' own
`revision = ` lines.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from bot.errors import StorageError
from bot.store.engine import LOCK_WAIT_MS
from bot.store.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


MIGRATION_LOCK_WAIT_MS = 60_000


def _config() -> Config:
    from alembic.config import Config  # only to migrate (see the module docstring)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


# what script.py.mako writes; a merge (a tuple) or an annotated line does not match, and then
# Alembic reads the files instead
_REVISION = re.compile(r"""^revision = ['"](\w+)['"]$""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"""^down_revision = (?:None|['"](\w+)['"])$""", re.MULTILINE)


@functools.cache
def head_revision() -> str:
    """The newest schema revision this newsbot knows."""
    return plain_head(MIGRATIONS / "versions") or _alembic_head()


def plain_head(versions: Path) -> str | None:
    """The one head of the migration files in `versions`, read as script.py.mako writes them.

    None when a file is written otherwise (a merge's tuple, annotations) or the revisions do not
    end in exactly one head: Alembic's own reading then decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        rev, down = _REVISION.findall(text), _DOWN_REVISION.findall(text)
        if len(rev) != 1 or len(down) != 1:
            return None
        revisions.add(rev[0])
        if down[0]:
            parents.add(down[0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision the database records (None: no newsbot schema yet), by a plain query.

    The same answer as Alembic's MigrationContext.get_current_revision, without importing Alembic.
    """
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    recorded = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(recorded) > 1:
        raise StorageError(
            f"the database records several schema revisions ({', '.join(sorted(recorded))}); "
            "newsbot's migrations are one line, so another program changed it: restore it from a backup"
        )
    return recorded[0] if recorded else None


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Migrate to `target` (the newest by default); returns (revision before, revision after).

    A database already at the newest revision is told by one read (no lock, no Alembic): a
    migration commits whole, so a process that reads the head sees the finished schema, and one
    that reads anything else (or nothing) goes on to the locked path below, which reads again.
    """
    if target == "head":
        head = head_revision()
        with engine.connect() as conn:
            if current_revision(conn) == head:
                return head, head
    return _upgrade(engine, target)


def _upgrade(engine: Engine, target: str) -> tuple[str | None, str]:
    """Migrate under the lock, with Alembic.

    All or nothing on both databases: the whole upgrade, DDL included, is one transaction
    (on SQLite through the engine's BEGIN recipe, see bot.store.engine), so a kill at any point
    leaves the database as it was. A database an older newsbot left half-made is repaired when
    nothing in it can be lost, and refused with what to do otherwise.
    """
    from alembic import command  # only to migrate (see the module docstring)
    from alembic.script import ScriptDirectory

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

    # what an interrupted first start of an older newsbot (before migrations were atomic) can leave
    own_tables = (*(t.name for t in reversed(metadata.sorted_tables)), "articles_fts")
    present = set(sa.inspect(conn).get_table_names())
    leftovers = [name for name in own_tables if name in present]
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
