"""Migrations are all-or-nothing: a SIGKILL at any moment of the first start leaves a database the
next start migrates; a database an older newsbot left half-made is repaired or refused clearly."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.errors import StorageError
from bot.store import migrate
from bot.store.engine import create_engine
from bot.store.store import Store
from tests.conftest import EXAMPLE_FEEDS, ROOT

# Opens the store in a real process and SIGKILLs itself just before (or just after) its Nth
# SQL statement; with N = 0 it runs to the end and prints how many statements it sent.
KILLER = """
import os, signal, sys
import sqlalchemy as sa
from sqlalchemy import event
from bot.store.store import Store

url, kill_at, when = sys.argv[1], int(sys.argv[2]), sys.argv[3]
count = 0

def hook(*args):
    global count
    count += 1
    if count == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

event.listen(sa.engine.Engine, when + "_cursor_execute", hook)
Store.open(url).close()
print(count)
"""


def _killer(db: Path, kill_at: int, when: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", KILLER, f"sqlite:///{db}", str(kill_at), when],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def _config(tmp: Path, db: Path) -> Path:
    feeds = "".join(f'[[feeds]]\nurl = "{EXAMPLE_FEEDS / n}"\n' for n in ("pacific-wire.xml", "harbor-ledger.xml"))
    path = tmp / "config.toml"
    path.write_text(f'[bot]\ndatabase = "sqlite:///{db}"\n{feeds}', encoding="utf-8")
    return path


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _revision(db: Path) -> str | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def test_a_kill_at_any_of_20_moments_of_the_first_start_never_bricks_the_database(tmp_path: Path) -> None:
    full = _killer(tmp_path / "count.db", 0, "before")
    assert full.returncode == 0, full.stderr
    statements = int(full.stdout)
    assert statements >= 20  # the sweep below is spread over the whole migration
    moments = sorted({1 + round(i * (statements - 1) / 19) for i in range(20)})
    assert len(moments) == 20
    for i, n in enumerate(moments):
        db = tmp_path / f"kill{n}.db"
        when = "before" if i % 2 == 0 else "after"
        killed = _killer(db, n, when)
        assert killed.returncode == -9, (n, when, killed.stderr)
        # all or nothing: no table at all, or the whole schema at the newest revision
        assert _tables(db) == set() or _revision(db) == migrate.head_revision(), (n, when, _tables(db))
        rerun = subprocess.run(
            [sys.executable, "-m", "bot.cli", "feeds", "list", "--config", str(_config(tmp_path, db))],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert rerun.returncode == 0, (n, when, rerun.stderr)
        assert "Traceback" not in rerun.stderr
        assert rerun.stdout.count("not fetched yet") == 2, (n, rerun.stdout)
        assert _revision(db) == migrate.head_revision()


def _unversioned(db: Path, *, with_rows: bool) -> None:
    """What an older newsbot killed during its first migration left: tables, no revision."""
    Store.open(f"sqlite:///{db}").close()
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM alembic_version")
        if with_rows:
            conn.execute("INSERT INTO feeds (url, added_at) VALUES ('https://x.example/feed', '2026-01-01 00:00:00')")


def test_empty_tables_without_a_revision_are_made_again(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _unversioned(db, with_rows=False)
    store = Store.open(f"sqlite:///{db}")
    assert store.feeds() == []
    store.close()
    assert _revision(db) == migrate.head_revision()


def test_tables_with_rows_but_no_revision_are_refused_with_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _unversioned(db, with_rows=True)
    with pytest.raises(StorageError, match=r"tables \(feeds\) with rows in them but no schema revision.*move it aside"):
        Store.open(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:  # nothing touched
        assert conn.execute("SELECT count(*) FROM feeds").fetchone() == (1,)


def test_a_half_done_upgrade_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "half.db"
    engine = create_engine(f"sqlite:///{db}")
    migrate.upgrade(engine, "0003")
    with engine.begin() as conn:  # part of 0004, as an interrupted older upgrade left it
        conn.execute(sa.text("CREATE TABLE notices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(StorageError, match=r"from revision 0003 .*already exists; nothing was changed.*backup"):
        Store.open(f"sqlite:///{db}")
    assert _revision(db) == "0003"
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(notices)")]
    assert columns == ["id"]
