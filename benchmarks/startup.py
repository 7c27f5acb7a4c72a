"""Start-up benchmark: wall time of real `newsbot` processes, next to two baselines from the same run.

Each command is run `--runs` times (median shown, with the spread), as its own process:
    floor       `python -c pass`: the interpreter itself, what no change to newsbot can remove
    eager       importing every bot and adapters module (the pipeline, both platforms, alembic):
                what a start-up costs if nothing were left until needed
    --version, health, digest --once --no-poll on an up-to-date database with nothing new,
    digest --once on the bundled demo feeds with the console (first start: migrates, polls,
    condenses, prints; and again: nothing new), and the Slack variant the kill sweep runs
    (tests/crash_sweep.py's ten-story feed, posted to the loopback fake Slack, then `--no-poll`).
The ratios to the floor and to `eager` are what to compare between machines or runs.

    python benchmarks/startup.py [--runs 7] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.crash_sweep import config_text, now_utc, write_feed  # noqa: E402
from tests.slack_fake import FakeSlack  # noqa: E402

EAGER = """
import importlib, pkgutil, bot, adapters
for pkg in (bot, adapters):
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if ".migrations" not in m.name:  # env.py runs only inside an Alembic command
            importlib.import_module(m.name)
"""
ENV = {
    **os.environ,
    "PYTHONPATH": str(ROOT),
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "signing-secret",
    "NO_COLOR": "1",
}


async def run(args: list[str], cwd: Path, expect: int = 0) -> float:
    """One process to the end; its wall time in seconds. A wrong exit code stops the benchmark."""
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, env=ENV, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != expect:
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}:\n{err.decode(errors='replace')}")
    return seconds


def newsbot(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


class Case:
    """A command timed `runs` times in `cwd`; `setup` (untimed) runs before each run."""

    def __init__(self, name: str, args: list[str], cwd: Path, setup: Callable[[], None] | None = None) -> None:
        self.name, self.args, self.cwd, self.setup = name, args, cwd, setup


def fresh(db: Path) -> Callable[[], None]:
    def setup() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

    return setup


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--only", nargs="*", help="case names to run (default: all)")
    opts = ap.parse_args()

    slack = await FakeSlack().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            # README's first command: no config.toml here, so the bundled example (console, demo
            # feeds, ./newsbot.db); `demo` is kept up to date, `first` starts without a database
            demo, first, sl = work / "demo", work / "first", work / "slack"
            for d in (demo, first, sl):
                d.mkdir()
            feed = write_feed(sl / "ten.xml", now_utc())
            sl_cfg = sl / "config.toml"
            sl_cfg.write_text(config_text(sl / "newsbot.db", feed, "slack", "C0NEWS", slack.base_url), encoding="utf-8")
            # an up-to-date database with the demo's articles already posted: what a health check,
            # a cron `digest --once --no-poll` or a kill sweep's rerun meets
            await run(newsbot("digest", "--once"), demo)
            cases = [
                Case("floor", [sys.executable, "-c", "pass"], work),
                Case("eager", [sys.executable, "-c", EAGER], work),
                Case("--version", newsbot("--version"), work),
                Case("health", newsbot("health"), demo),
                Case("digest --no-poll", newsbot("digest", "--once", "--no-poll"), demo),
                Case("digest (nothing new)", newsbot("digest", "--once"), demo),
                Case("digest (first start)", newsbot("digest", "--once"), first, fresh(first / "newsbot.db")),
                Case(
                    "slack digest (first)",
                    newsbot("digest", "--once", "--config", str(sl_cfg)),
                    sl,
                    fresh(sl / "newsbot.db"),
                ),
                Case("slack --no-poll", newsbot("digest", "--once", "--no-poll", "--config", str(sl_cfg)), sl),
            ]

            times: dict[str, list[float]] = {}
            # round-robin over the cases, so a burst of load elsewhere spreads over all of them
            for _ in range(opts.runs):
                for case in cases:
                    if opts.only and case.name not in opts.only and case.name not in ("floor", "eager"):
                        continue
                    if case.setup is not None:
                        case.setup()
                    times.setdefault(case.name, []).append(await run(case.args, case.cwd))
    finally:
        await slack.close()

    floor = statistics.median(times["floor"])
    eager = statistics.median(times["eager"])
    print(f"{'command':<22} {'median s':>9} {'min':>7} {'max':>7} {'x floor':>8} {'x eager':>8}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<22} {med:9.3f} {min(ts):7.3f} {max(ts):7.3f} {med / floor:8.1f} {med / eager:8.2f}")
    print(f"({opts.runs} runs each, round-robin; python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    asyncio.run(main())
