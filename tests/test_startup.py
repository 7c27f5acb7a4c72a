"""A start loads only what the command needs: the plain-SQL reading of the schema revision agrees
with Alembic's, and what each start leaves out (Alembic at the head, the pipeline for --version,
the parser and the NLP when there is nothing to parse or post) is checked in a real process.

How fast that makes a start is measured in benchmarks/startup.py, never asserted here.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.errors import StorageError
from bot.store import migrate
from bot.store.engine import create_engine
from tests.conftest import ROOT


def _alembic_revision(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def test_the_head_read_from_the_files_is_alembics() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    assert migrate.head_revision() == script.get_current_head()
    assert migrate._alembic_head() == script.get_current_head()


def test_migration_files_the_plain_reading_cannot_follow_are_left_to_alembic(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    shutil.copytree(migrate.MIGRATIONS / "versions", versions, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head_revision()
    assert migrate.plain_head(versions) == head
    (versions / "0100_next.py").write_text(f'"""next"""\n\nrevision = "0100"\ndown_revision = "{head}"\n')
    assert migrate.plain_head(versions) == "0100"  # a new migration is found without any list to update
    (versions / "0101_side.py").write_text(f'revision = "0101"\ndown_revision = "{head}"\n')
    assert migrate.plain_head(versions) is None  # two heads: Alembic says what it makes of them
    (versions / "0101_side.py").unlink()
    (versions / "0102_merge.py").write_text('revision = "0102"\ndown_revision = ("0100", "0001")\n')
    assert migrate.plain_head(versions) is None  # a merge
    (versions / "0102_merge.py").unlink()
    (versions / "0103_typed.py").write_text('revision: str = "0103"\ndown_revision: str | None = "0100"\n')
    assert migrate.plain_head(versions) is None  # annotated lines, as newer Alembic templates write


def test_the_recorded_revision_reads_as_alembic_reads_it(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    with engine.connect() as conn:
        assert migrate.current_revision(conn) is None is _alembic_revision(conn)
    for target in ("0001", "0004", "head"):
        migrate.upgrade(engine, target)
        with engine.connect() as conn:
            assert migrate.current_revision(conn) == _alembic_revision(conn)
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
    with engine.begin() as conn:  # an emptied version table: no revision, for both readings
        conn.execute(sa.text("DELETE FROM alembic_version"))
    with engine.connect() as conn:
        assert migrate.current_revision(conn) is None is _alembic_revision(conn)
    engine.dispose()


def test_two_recorded_revisions_are_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'two.db'}")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('0001')"))
    with pytest.raises(StorageError, match=rf"several schema revisions \(0001, {migrate.head_revision()}\)"):
        migrate.upgrade(engine)
    engine.dispose()


# Runs one CLI command in a fresh interpreter, then prints which of the watched modules it loaded.
PROBE = """
import json, sys
from bot.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
watched = ["alembic", "bot.app", "sqlalchemy", "aiohttp", "feedparser", "lxml", "bot.ingest.parse",
           "bot.enrich", "bot.clustering", "bot.nlp.entities", "sqlalchemy.dialects.postgresql"]
print(json.dumps({"code": code, "loaded": [m for m in watched if m in sys.modules]}))
"""


def _loaded(cwd: Path, *args: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=cwd, timeout=120, env=_env()
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["code"] == 0, run.stderr
    return set(result["loaded"])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}


def test_version_loads_nothing_of_the_pipeline(tmp_path: Path) -> None:
    assert _loaded(tmp_path, "--version") == set()


def demo_config(where: Path) -> str:
    """The bundled config (console, the demo feeds) with its database in `where`."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    (where / "config.toml").write_text(text.replace('"examples/feeds/', f'"{ROOT}/examples/feeds/'), encoding="utf-8")
    return str(where / "config.toml")


def test_a_start_at_the_head_leaves_alembic_the_parser_and_the_nlp_out(tmp_path: Path) -> None:
    """README's first command (the bundled config, demo feeds as local files), then the same again."""
    config = demo_config(tmp_path)
    first = _loaded(tmp_path, "digest", "--once", "--config", config)
    assert {"alembic", "feedparser", "bot.enrich", "bot.nlp.entities"} <= first  # migrated, parsed, condensed
    with sqlite3.connect(tmp_path / "newsbot.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrate.head_revision(),)]
    # the feeds' bytes are unchanged and nothing is new: nothing to migrate, parse, condense or show
    again = _loaded(tmp_path, "digest", "--once", "--config", config)
    assert "sqlalchemy" in again
    assert again.isdisjoint({"alembic", "feedparser", "lxml", "bot.ingest.parse", "bot.enrich", "bot.clustering"})
    assert again.isdisjoint({"bot.nlp.entities", "aiohttp", "sqlalchemy.dialects.postgresql"})
    health = _loaded(tmp_path, "health", "--config", config)
    assert health.isdisjoint({"alembic", "bot.app", "aiohttp"})


def test_a_database_behind_the_head_is_still_migrated_by_alembic(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'newsbot.db'}")
    migrate.upgrade(engine, "0004")
    engine.dispose()
    loaded = _loaded(tmp_path, "feeds", "list", "--config", demo_config(tmp_path))
    assert "alembic" in loaded
    with sqlite3.connect(tmp_path / "newsbot.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrate.head_revision(),)]


def test_the_slack_adapter_loads_bolt_only_to_serve() -> None:
    """Posting (`digest --once`, the kill sweeps) needs slack_sdk's client; bolt answers the slash command."""
    probe = "import sys, adapters.slack; print(*sorted({m.split('.')[0] for m in sys.modules}))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=_env())
    assert run.returncode == 0, run.stderr
    loaded = set(run.stdout.split())
    assert "slack_sdk" in loaded
    assert "slack_bolt" not in loaded
