"""Bring a database to the current schema with Alembic, in place and losing nothing.

`upgrade()` is idempotent: on an up-to-date database it does nothing. A database
written by a newer newsbot is refused rather than guessed at.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from bot.errors import StorageError

MIGRATIONS = Path(__file__).with_name("migrations")


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
    """Migrate to `target` (the newest by default); returns (revision before, revision after)."""
    script = ScriptDirectory.from_config(_config())
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # a migration that rebuilds a table must not cascade-delete the rows that point at it;
            # the pragma only takes effect outside a transaction
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                if not sqlite:
                    # two workers starting together: the second waits, then finds nothing to do
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
                cfg = _config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, target)
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise StorageError("the migration left rows whose references are broken; nothing was changed")
                after = current_revision(conn)
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    assert after is not None
    return before, after
