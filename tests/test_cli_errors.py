"""Bad config and bad input end in one clear line and the right exit code, never a traceback.

Exit codes: 2 for the config, 1 for what happened at run time. Each case runs `newsbot` as a user
does, in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FEEDS, ROOT


def newsbot(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)},
    )


def _config(tmp: Path, fetch: str = "", feeds: tuple[str, ...] = (), subscriptions: bool = True) -> Path:
    path = tmp / "config.toml"
    text = f'[bot]\ndatabase = "sqlite:///{tmp / "newsbot.db"}"\nlog_level = "warning"\n[fetch]\n{fetch}\n'
    text += "".join(f'[[feeds]]\nurl = "{url}"\n' for url in feeds)
    if subscriptions:
        text += '[[subscriptions]]\nchannel = "console:#news"\nfeeds = "all"\n'
    path.write_text(text, encoding="utf-8")
    return path


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("fetch", "expected"),
    [
        ("timeout_seconds = nan", "fetch.timeout_seconds: nan is not a finite number"),
        ("timeout_seconds = inf", "fetch.timeout_seconds: inf is not a finite number"),
        ("max_body_mb = nan", "fetch.max_body_mb: nan is not a finite number"),
        ("max_body_mb = 1e-9", "fetch.max_body_mb: 1e-09 is too small; use at least 0.01"),
        ("timeout_seconds = 1e-9", "fetch.timeout_seconds: 1e-09 is too small; use at least 0.1"),
        ("max_body_mb = -inf", "fetch.max_body_mb: -inf is not a finite number"),
        (
            'user_agent = "newsbot\\r\\nX-Injected: 1"',
            "fetch.user_agent: 'newsbot\\r\\nX-Injected: 1' must be one line of at most 500 printable characters",
        ),
    ],
)
def test_config_values_must_be_finite_and_in_range(tmp_path: Path, fetch: str, expected: str) -> None:
    proc = newsbot("poll", "--once", "--config", str(_config(tmp_path, fetch)), cwd=tmp_path)
    assert proc.returncode == 2
    assert _one_line(proc) == f"newsbot: config error: {expected}"


def test_a_config_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[digest]\ntitle = "Nouvelles du jour \xe9t\xe9"\n')  # Latin-1, as an old editor saves it
    proc = newsbot("poll", "--once", "--config", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "is not UTF-8 text" in _one_line(proc) and "save it as UTF-8" in proc.stderr


def test_a_config_path_that_is_a_folder_is_a_config_error(tmp_path: Path) -> None:
    proc = newsbot("poll", "--once", "--config", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "is a folder, not a config file" in _one_line(proc)


def test_a_database_file_that_is_not_sqlite_is_a_runtime_error(tmp_path: Path) -> None:
    (tmp_path / "newsbot.db").write_text("these are my notes, not a database\n" * 100, encoding="utf-8")
    proc = newsbot("poll", "--once", "--config", str(_config(tmp_path)), cwd=tmp_path)
    assert proc.returncode == 1
    line = _one_line(proc)
    assert "cannot open the database" in line and "not a database" in line
    assert (tmp_path / "newsbot.db").read_text(encoding="utf-8").startswith("these are my notes")


def test_a_host_label_over_63_characters_is_one_clear_line(tmp_path: Path) -> None:
    proc = newsbot("inspect", "feed", f"http://{'a' * 64}.example/", "--config", str(_config(tmp_path)), cwd=tmp_path)
    assert proc.returncode == 1
    assert "a part of 64 characters" in _one_line(proc)


def test_a_run_where_every_feed_failed_exits_1(tmp_path: Path) -> None:
    cfg = _config(tmp_path, feeds=(str(tmp_path / "gone-1.xml"), str(tmp_path / "gone-2.xml")))
    poll = newsbot("poll", "--once", "--config", str(cfg), cwd=tmp_path)
    assert poll.returncode == 1, poll.stderr
    assert "every feed failed" in poll.stderr and "Traceback" not in poll.stderr
    digest = newsbot("digest", "--once", "--config", str(cfg), cwd=tmp_path)
    assert digest.returncode == 1, digest.stderr
    assert "polled 2 feeds: 0 new articles, 2 failed" in digest.stderr and "every feed failed" in digest.stderr


def test_one_failing_feed_of_two_is_not_a_failed_run(tmp_path: Path) -> None:
    cfg = _config(tmp_path, feeds=(str(tmp_path / "gone.xml"), str(EXAMPLE_FEEDS / "harbor-ledger.xml")))
    digest = newsbot("digest", "--once", "--config", str(cfg), cwd=tmp_path)
    assert digest.returncode == 0, digest.stderr
    assert "1 failed" in digest.stderr and "every feed failed" not in digest.stderr


def test_an_empty_feed_list_says_so(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    poll = newsbot("poll", "--once", "--config", str(cfg), cwd=tmp_path)
    assert poll.returncode == 0
    assert _one_line(poll).startswith("no feeds to poll: add [[feeds]] to the config")
    digest = newsbot("digest", "--once", "--config", str(cfg), cwd=tmp_path)
    assert "no feeds to poll" in digest.stderr and "Traceback" not in digest.stderr


def test_local_files_must_be_regular_files_within_the_cap(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "max_body_mb = 0.01")
    zero = newsbot("inspect", "feed", "/dev/zero", "--config", str(cfg), cwd=tmp_path)
    assert zero.returncode == 1
    assert "/dev/zero: is a device, not a regular file" in _one_line(zero)
    big = tmp_path / "big.xml"
    big.write_bytes(b"<rss>" + b" " * 20_000 + b"</rss>")
    over = newsbot("inspect", "feed", str(big), "--config", str(cfg), cwd=tmp_path)
    assert over.returncode == 1
    assert "larger than the 0.01 MiB cap (fetch.max_body_mb)" in _one_line(over)


def test_a_fifo_feed_is_refused_and_does_not_hold_up_the_others(tmp_path: Path) -> None:
    fifo = tmp_path / "feed.fifo"
    os.mkfifo(fifo)  # nobody ever writes to it: reading it would wait for ever
    cfg = _config(tmp_path, feeds=(str(fifo), str(EXAMPLE_FEEDS / "harbor-ledger.xml")))
    started = time.monotonic()
    proc = newsbot("digest", "--once", "--config", str(cfg), cwd=tmp_path, timeout=60)
    assert time.monotonic() - started < 30
    assert proc.returncode == 0, proc.stderr
    assert "named pipe (FIFO), not a regular file" in proc.stderr
    assert "console:#news: posted" in proc.stderr  # the other feed's stories were posted
