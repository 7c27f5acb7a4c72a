"""The `newsbot` command as a user runs it: a subprocess on a copy of the example config."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def newsbot(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder with config.toml = the example, pointing at the bundled feeds."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace('url = "examples/feeds/', f'url = "{ROOT}/examples/feeds/')
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_digest_once_twice(workdir: Path) -> None:
    first = newsbot("digest", "--once", cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("agree to increase global cooperation") == 1
    assert "posted 8 stories" in first.stderr
    assert (workdir / "newsbot.db").exists()
    second = newsbot("digest", "--once", cwd=workdir)
    assert second.returncode == 0, second.stderr
    assert second.stdout == ""
    assert "console:#news: nothing new since the last digest" in second.stderr


def test_default_config_falls_back_to_the_example_with_a_note(tmp_path: Path) -> None:
    # the bundled demo feeds (a link: a copy elsewhere is an ordinary local file, off in the example config)
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.example.toml")
    proc = newsbot("feeds", "list", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "note: config.toml not found; using config.example.toml" in proc.stderr
    assert "Pacific Wire" in proc.stdout and "not fetched yet" in proc.stdout


def _allow_local_files(workdir: Path) -> None:
    cfg = workdir / "config.toml"
    cfg.write_text(cfg.read_text().replace("allow_local_files = false", "allow_local_files = true"))


def test_feeds_add_list_remove(workdir: Path, tmp_path: Path) -> None:
    _allow_local_files(workdir)
    extra = ROOT / "examples" / "feeds" / "lakeside-courier.xml"
    copy = tmp_path / "extra.xml"
    shutil.copy(extra, copy)
    added = newsbot("feeds", "add", str(copy), "--name", "Extra", "--channel", "console:#other", cwd=workdir)
    assert added.returncode == 0, added.stderr
    assert 'checked: "' in added.stdout and "console:#other now follows it" in added.stdout
    listed = newsbot("feeds", "list", cwd=workdir)
    assert "Extra" in listed.stdout and "console:#other" in listed.stdout
    feed_id = next(line.split()[0] for line in listed.stdout.splitlines() if line.strip().endswith("Extra"))
    removed = newsbot("feeds", "remove", feed_id, cwd=workdir)
    assert removed.returncode == 0 and f"removed feed {feed_id}" in removed.stdout
    assert "Extra" not in newsbot("feeds", "list", cwd=workdir).stdout


def test_feeds_errors_say_what_to_do(workdir: Path, tmp_path: Path) -> None:
    html = tmp_path / "page.html"
    html.write_text("<html><head><title>Hi</title></head><body><p>Not a feed</p></body></html>")
    off = newsbot("feeds", "add", str(html), cwd=workdir)  # the example config reads no local files...
    assert off.returncode == 1 and "set fetch.allow_local_files = true" in off.stderr
    _allow_local_files(workdir)  # ...but the bundled demo feeds
    bad = newsbot("feeds", "add", str(html), cwd=workdir)
    assert bad.returncode == 1 and "newsbot:" in bad.stderr and bad.stdout == ""
    missing = newsbot("feeds", "remove", "999", cwd=workdir)
    assert missing.returncode == 1 and "no feed '999'; `newsbot feeds list` shows" in missing.stderr
    declared = newsbot("feeds", "remove", "1", cwd=workdir)
    assert declared.returncode == 1 and "is declared in" in declared.stderr
    scheme = newsbot("feeds", "add", "gopher://x.example/feed", cwd=workdir)
    assert scheme.returncode == 1 and "unsupported scheme" in scheme.stderr


def test_poll_once_prints_one_summary_line(workdir: Path) -> None:
    proc = newsbot("poll", "--once", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("polled 3 feeds: 3 new content, 0 not modified (304), 0 unchanged, 0 failed; ")
    again = newsbot("poll", "--once", cwd=workdir)
    assert again.stdout.startswith("polled 0 feeds:"), again.stdout  # none is due yet
    forced = newsbot("poll", "--once", "--all", cwd=workdir)
    assert "3 unchanged" in forced.stdout and "; 0 new articles" in forced.stdout


def test_inspect_feed_writes_json_lines(workdir: Path) -> None:
    import json

    proc = newsbot("inspect", "feed", str(ROOT / "examples" / "feeds" / "harbor-ledger.xml"), cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 4
    assert set(rows[0]) >= {"id", "url", "canonical_url", "title", "text", "published", "source"}
    assert all("utm_" not in (r["canonical_url"] or "") for r in rows)
    off = newsbot("inspect", "feed", str(workdir / "missing.xml"), cwd=workdir)
    assert off.returncode == 1 and off.stdout == "" and "set fetch.allow_local_files = true" in off.stderr
    _allow_local_files(workdir)
    bad = newsbot("inspect", "feed", str(workdir / "missing.xml"), cwd=workdir)
    assert bad.returncode != 0 and bad.stdout == "" and "cannot read the file" in bad.stderr


def run_until(cwd: Path, marker: str, env: dict[str, str] | None = None) -> tuple[list[str], str, int]:
    """`newsbot run` until a stderr line holds `marker`, then SIGTERM: (lines up to it, the rest, exit code)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=cwd,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if marker in line or (not line and proc.poll() is not None):
            break
    if marker not in lines[-1]:
        proc.kill()
        pytest.fail(f"no {marker!r} within 60 s:\n" + "".join(lines))
    proc.send_signal(signal.SIGTERM)
    _out, rest = proc.communicate(timeout=30)
    return lines, rest, proc.returncode


def test_run_polls_then_stops_cleanly_on_sigterm(workdir: Path) -> None:
    _lines, rest, code = run_until(workdir, "polled 3 feeds")
    assert code == 0, rest
    assert "newsbot stopped" in rest


def test_one_log_default_start_line_and_no_library_chatter(workdir: Path) -> None:
    import re
    import tomllib
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from bot.config import Settings, settings_from_dict

    # the same default in the example, the docs and the code
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    assert example["bot"]["log_level"] == "info"
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert "| `bot.log_level` | string | `info` |" in docs
    assert settings_from_dict({}, workdir / "x.toml").log_level == Settings.log_level == "INFO"

    # the config without the key: the code's default applies
    cfg = workdir / "config.toml"
    cfg.write_text(re.sub(r"(?m)^log_level = .*\n", "", cfg.read_text()))
    assert "\nlog_level" not in cfg.read_text()
    lines, rest, code = run_until(workdir, "polled 3 feeds", env={"SLACK_BOT_TOKEN": "xoxb-not-used"})
    assert code == 0, rest
    now = datetime.now(ZoneInfo("Europe/Brussels"))
    nxt = now.replace(hour=8, minute=0, second=0, microsecond=0)
    nxt += timedelta(days=1) if nxt <= now else timedelta()
    messages = [line.split(" ", 2)[2].rstrip("\n") for line in lines + rest.splitlines(keepends=True)]
    assert messages == [
        "INFO bot.scheduler: newsbot is running: 3 feeds, 1 channel; "
        f"next digests: console:#news {nxt.isoformat()} (Europe/Brussels). Ctrl-C or SIGTERM stops it.",
        messages[1],
        "INFO bot.scheduler: newsbot stopped",
    ], messages  # nothing from alembic's migrations or apscheduler's jobs
    assert messages[1].startswith("INFO bot.scheduler: polled 3 feeds: 3 new content, 0 304"), messages


def test_a_reader_that_stops_early_gets_no_traceback(workdir: Path) -> None:
    # `newsbot inspect entities < big.jsonl | head -1`: the pipe closes long before the output ends
    big = workdir / "big.jsonl"
    big.write_text(
        "".join(
            json.dumps({"id": i, "text": f"NATO met South Korea in Brussels, item {i}."}) + "\n" for i in range(30000)
        ),
        encoding="utf-8",
    )
    with big.open(encoding="utf-8") as stdin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "inspect", "entities"],
            cwd=workdir,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=60)
    assert json.loads(first)["id"] == 0
    assert code == 128 + signal.SIGPIPE, err
    assert "Traceback" not in err and "BrokenPipe" not in err
