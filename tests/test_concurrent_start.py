"""Processes that start or poll at the same moment on one database: no UniqueViolation, no failure.

Start-up (migration and the config sync) races as real processes and, many times over, as threads
released together by a barrier right before the sync; polls race as two pollers of the same feeds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.config import settings_from_dict
from bot.models import PollReport
from bot.store.store import Store
from tests.conftest import EXAMPLE_FEEDS, ROOT, FixedClock, demo_config


def test_processes_starting_together_on_a_fresh_database_all_start(empty_db_url: str, tmp_path: Path) -> None:
    feeds = "".join(f'[[feeds]]\nurl = "{p}"\n' for p in sorted(EXAMPLE_FEEDS.glob("*.xml")))
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[bot]\ndatabase = "{empty_db_url}"\nlog_level = "warning"\n{feeds}'
        '[[subscriptions]]\nchannel = "console:#news"\nfeeds = "all"\nschedule = "08:00"\n',
        encoding="utf-8",
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "feeds", "list", "--config", str(cfg)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(6)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and err == "", err
        assert out.count("console:#news") == 3
    store = Store.open(empty_db_url)
    assert len(store.feeds()) == 3
    (sub,) = store.subscriptions()
    assert len(store.subscribed_feeds(sub.id)) == 3
    store.close()


def _race(n: int, work: Any) -> list[BaseException]:
    """Run work(i) in n threads released at once; the exceptions they raised."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i, barrier)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_config_syncs_racing_for_the_same_new_rows_all_succeed(empty_db_url: str, tmp_path: Path) -> None:
    stores = [Store.open(empty_db_url) for _ in range(4)]
    try:
        for round_ in range(8):  # each round, new feeds and a new channel that all four insert at once
            raw = demo_config(empty_db_url)
            raw["feeds"] = [{"url": f"https://r{round_}.example/feed{k}.xml", "name": f"F{k}"} for k in range(3)]
            raw["subscriptions"] = [{"channel": f"console:#r{round_}", "feeds": "all", "schedule": "08:00"}]
            settings = settings_from_dict(raw, tmp_path / "config.toml")

            def sync(i: int, barrier: threading.Barrier, settings: Any = settings) -> None:
                app = App(settings, stores[i], {}, FixedClock())
                barrier.wait()
                app.sync_config()

            assert _race(len(stores), sync) == []
        feeds = stores[0].feeds()
        assert len(feeds) == 8 * 3 + 0
        subs = stores[0].subscriptions()
        assert len(subs) == 8 and all(len(stores[0].subscribed_feeds(s.id)) == 3 for s in subs)
    finally:
        for s in stores:
            s.close()


def test_two_pollers_of_the_same_feeds_count_no_failure(
    empty_db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_from_dict(demo_config(empty_db_url), tmp_path / "config.toml")
    first = App.open(settings, adapters={}, clock=FixedClock())
    second = App.open(settings, adapters={}, clock=FixedClock())
    reports: list[PollReport] = []

    def poll(i: int, barrier: threading.Barrier) -> None:
        app = (first, second)[i]
        barrier.wait()
        reports.append(asyncio.run(app.poll()))  # every feed, due or not: what `digest --once` does

    try:
        with caplog.at_level(logging.INFO):
            assert _race(2, poll) == []
        assert [r.failed for r in reports] == [0, 0], [r.errors for r in reports]
        assert sum(r.new_articles for r in reports) == 10  # the demo's 10 articles, stored once
        assert "internal error" not in caplog.text
        assert all(f.failure_count == 0 and f.last_error is None for f in first.store.feeds())
    finally:
        for app in (first, second):
            asyncio.run(app.close())
