"""Shared fixtures: a fixed clock, database URLs for SQLite and PostgreSQL (migrated or empty), demo settings."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest
import sqlalchemy as sa

from bot.config import Settings, settings_from_dict

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_FEEDS = ROOT / "examples" / "feeds"
SHARED = ROOT.parent / "shared"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# the fake platforms' fixtures (slack, dfake)
pytest_plugins = ["tests.platforms"]


class FixedClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, now: datetime = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def _postgres_url() -> str | None:
    """The PostgreSQL to test against, or None (with the reason printed by the skip)."""
    url = os.environ.get("NEWSBOT_TEST_POSTGRES_URL", DEFAULT_PG)
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
    except Exception:
        return None
    return url


_PG_URL = _postgres_url()


def _no_postgres() -> NoReturn:
    reason = (
        f"no PostgreSQL reachable at {os.environ.get('NEWSBOT_TEST_POSTGRES_URL', DEFAULT_PG)}; "
        "set NEWSBOT_TEST_POSTGRES_URL to run the storage tests on PostgreSQL"
    )
    if os.environ.get("NEWSBOT_REQUIRE_POSTGRES"):
        pytest.fail(reason)
    pytest.skip(reason)


def _pg_database_url(name: str) -> str:
    assert _PG_URL is not None
    return sa.engine.make_url(_PG_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def _pg_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of `template`, or empty), dropped afterwards."""
    if _PG_URL is None:
        _no_postgres()
    name = f"newsbot_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_PG_URL, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield _pg_database_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    from bot.store import migrate
    from bot.store.engine import create_engine

    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:  # everything in the main file, so copying it alone is a whole copy
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; each test gets a copy (db_url)."""
    path = tmp_path_factory.mktemp("template") / "newsbot.db"
    _migrate(f"sqlite:///{path}")
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "the template's WAL was not checkpointed"
    return path


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per session, the template of each test's database.

    Its name is this session's own, so test sessions running at once (other worktrees, other
    schemas) never share or clash over one; it is dropped when the session ends.
    """
    if _PG_URL is None:
        _no_postgres()
    with _pg_database() as url:
        _migrate(url)
        yield sa.engine.make_url(url).database or ""


@contextmanager
def migrated_database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the current schema on `backend` ("sqlite" or "postgres"): a copy of the
    session's migrated template (a SQLite file, or a PostgreSQL database dropped afterwards)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "newsbot.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    with _pg_database(request.getfixturevalue("_pg_template")) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database at the current schema, on SQLite and on PostgreSQL (migrated_database).

    Migrating once per session instead of once per test is most of what the storage tests used to
    spend on set-up; tests of migrating itself take `empty_db_url`."""
    with migrated_database(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """db_url on SQLite only: for tests of the commands, delivery and the adapters, which run through
    the real store but test no database semantics (those stay on both databases)."""
    with migrated_database(request, "sqlite", tmp_path) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A truly empty database, no schema at all: for tests of migrating and of a first start."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newsbot.db'}"
        return
    with _pg_database() as url:
        yield url


def demo_config(db_url: str, **overrides: Any) -> dict[str, Any]:
    """The bundled example config, on the given database, with the console in plain text."""
    raw: dict[str, Any] = {
        "bot": {"database": db_url, "timezone": "UTC"},
        "console": {"color": "never"},
        "feeds": [
            {"url": str(EXAMPLE_FEEDS / n), "name": name}
            for n, name in (
                ("pacific-wire.xml", "Pacific Wire"),
                ("harbor-ledger.xml", "Harbor Ledger"),
                ("lakeside-courier.xml", "Lakeside Courier"),
            )
        ],
        "subscriptions": [
            {"channel": "console:#news", "feeds": "all", "schedule": "08:00", "timezone": "Europe/Brussels"}
        ],
    }
    raw.update(overrides)
    return raw


@pytest.fixture
def demo_settings(db_url: str, tmp_path: Path) -> Settings:
    return settings_from_dict(demo_config(db_url), tmp_path / "config.toml")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Where CI says the shared corpora or PostgreSQL must be there, a skip for their absence fails."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not report.skipped:
        return
    reason = str(report.longrepr)
    if (
        (os.environ.get("NEWSBOT_REQUIRE_SHARED") and "shared" in reason)
        or (os.environ.get("NEWSBOT_REQUIRE_POSTGRES") and "PostgreSQL" in reason)
        or (os.environ.get("NEWSBOT_REQUIRE_SPACY") and "spaCy not installed" in reason)
    ):
        report.outcome = "failed"
        report.longrepr = f"required by CI but skipped: {reason}"


async def poll_and_digest(settings: Settings, clock: FixedClock, **open_args: Any) -> list[Any]:
    """One `newsbot digest --once` in process: a fresh App, a poll that must not fail, every digest, close."""
    from bot.app import App

    app = App.open(settings, clock=clock, **open_args)
    try:
        report = await app.poll()
        assert report.failed == 0, report.errors
        return await app.digest_all()
    finally:
        await app.close()


_RERUN_SECONDS: list[float] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the kill sweeps' rerun times (tests/test_kill_sweep.py records them as properties, which
    reach this hook in the main process under pytest-xdist too)."""
    if report.when == "call":
        _RERUN_SECONDS.extend(float(v) for k, v in report.user_properties if k == "rerun_seconds")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How long the kill sweeps' reruns took: a figure for the notes, never asserted."""
    times = sorted(_RERUN_SECONDS)
    if times:
        median, worst = times[len(times) // 2], times[-1]
        terminalreporter.write_line(
            f"kill sweep: {len(times)} reruns after kill -9, median {median:.2f} s, max {worst:.2f} s"
        )
