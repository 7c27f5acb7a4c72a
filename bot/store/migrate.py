"""Bring a database to the current schema with Alembic, in place and losing nothing.

`upgrade()` is idempotent: on an up-to-date database it does nothing. A database
written by a newer newsbot is refused rather than guessed at.
"""

from __future__ import annotations

from pathlib import Path

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
    with engine.begin() as conn:
        before = current_revision(conn)
        if before is not None and before not in {rev.revision for rev in script.walk_revisions()}:
            raise StorageError(
                f"the database is at schema revision {before}, which this newsbot does not know; "
                "it was written by a newer version: upgrade newsbot or point bot.database elsewhere"
            )
        if before is not None and before == (script.get_current_head() if target == "head" else target):
            return before, before
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)
        after = current_revision(conn)
    assert after is not None
    return before, after
