"""Start-up benchmark: wall time of real `newsbot` processes, next to two baselines from the same run.

Each command is run `--runs` times as its own process (median shown, with the fastest and slowest):
    floor       `python -c pass`: the interpreter itself, what no change to newsbot can remove
    eager       importing every bot and adapters module (the pipeline, both platforms, Alembic):
                what a start costs if nothing were left until needed
    --version, health, digest --once --no-poll on an up-to-date database with nothing new,
    digest --once on the bundled demo feeds with the console (first start: migrates, polls,
    condenses, prints; and again, nothing new), and what the kill sweep runs: the Slack adapter
    posting tests/crash_sweep.py's ten-story feed to the loopback fake Slack, then `--no-poll`.
The ratios to the floor and to `eager` are what to compare between machines or runs.

`--compare TREE` runs the same commands on another checkout's code too (e.g. a `git worktree`
of main, with this same interpreter and packages), interleaved with this tree's runs, so that
before and after meet the same load on a busy machine; the last column is TREE's time / ours.

    python benchmarks/startup.py [--runs 7] [--only NAME ...] [--compare PATH]
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.crash_sweep import config_text, now_utc, write_feed  # noqa: E402
from tests.slack_fake import FakeSlack  # noqa: E402

EAGER = """
import importlib, pkgutil, alembic.command, alembic.script, bot, adapters  # Alembic: what a migration loads
for pkg in (bot, adapters):
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if ".migrations" not in m.name:  # env.py runs only inside an Alembic command
            importlib.import_module(m.name)
"""
BASELINES = ("floor", "eager")


@dataclass
class Case:
    """A command timed in `cwd` with `tree`'s code; `setup` (untimed) runs before each run."""

    name: str
    args: list[str]
    cwd: Path
    tree: Path
    setup: Callable[[], None] | None = None


async def run(case: Case) -> float:
    """One process to the end; its wall time in seconds. A failed command stops the benchmark."""
    env = {
        **os.environ,
        "PYTHONPATH": str(case.tree),  # ahead of the editable install: this tree's bot and adapters
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "signing-secret",
        "NO_COLOR": "1",
    }
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *case.args, cwd=case.cwd, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(case.args)} exited {proc.returncode}:\n{err.decode(errors='replace')}")
    return seconds


def newsbot(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def demo_config(tree: Path, where: Path) -> str:
    """README's first command's config (the bundled one: console, the demo feeds), its database in `where`."""
    text = (tree / "config.example.toml").read_text(encoding="utf-8")
    (where / "config.toml").write_text(text.replace('"examples/feeds/', f'"{tree}/examples/feeds/'), encoding="utf-8")
    return str(where / "config.toml")


def fresh(db: Path) -> Callable[[], None]:
    def setup() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

    return setup


async def cases_for(tree: Path, work: Path, slack_url: str) -> list[Case]:
    """Every case for `tree`'s code, each in its own directories under `work`."""
    # `demo` is kept up to date, `first` starts without a database every time
    demo, first, sl = work / "demo", work / "first", work / "slack"
    for d in (demo, first, sl):
        d.mkdir(parents=True)
    demo_cfg, first_cfg = demo_config(tree, demo), demo_config(tree, first)
    feed = write_feed(sl / "ten.xml", now_utc())
    sl_cfg = sl / "config.toml"
    sl_cfg.write_text(config_text(sl / "newsbot.db", feed, "slack", "C0NEWS", slack_url), encoding="utf-8")
    cases = [
        Case("floor", [sys.executable, "-c", "pass"], work, tree),
        Case("eager", [sys.executable, "-c", EAGER], work, tree),
        Case("--version", newsbot("--version"), work, tree),
        Case("health", newsbot("health", "--config", demo_cfg), demo, tree),
        Case("digest --no-poll", newsbot("digest", "--once", "--no-poll", "--config", demo_cfg), demo, tree),
        Case("digest (nothing new)", newsbot("digest", "--once", "--config", demo_cfg), demo, tree),
        Case("digest (first start)", newsbot("digest", "--once", "--config", first_cfg), first, tree),
        Case("slack digest (first)", newsbot("digest", "--once", "--config", str(sl_cfg)), sl, tree),
        Case("slack --no-poll", newsbot("digest", "--once", "--no-poll", "--config", str(sl_cfg)), sl, tree),
    ]
    cases[6].setup = fresh(first / "newsbot.db")
    cases[7].setup = fresh(sl / "newsbot.db")
    # an up-to-date database with the demo's articles already posted: what a health check,
    # a cron `digest --once --no-poll` or a kill sweep's rerun meets
    await run(cases[5])
    return cases


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--only", nargs="*", help="case names to run besides the baselines (default: all)")
    ap.add_argument("--compare", type=Path, metavar="TREE", help="another checkout to time the same way")
    opts = ap.parse_args()
    trees = [ROOT] + ([opts.compare.resolve()] if opts.compare else [])

    slack = await FakeSlack().start()
    times: dict[tuple[str, Path], list[float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            by_tree = [await cases_for(tree, Path(tmp) / str(i), slack.base_url) for i, tree in enumerate(trees)]
            # round-robin over cases and trees, so a burst of load elsewhere spreads over all of them
            for _ in range(opts.runs):
                for same in zip(*by_tree, strict=True):
                    for case in same:
                        if opts.only and case.name not in (*opts.only, *BASELINES):
                            continue
                        if case.setup is not None:
                            case.setup()
                        times.setdefault((case.name, case.tree), []).append(await run(case))
    finally:
        await slack.close()

    floor = statistics.median(times["floor", ROOT])
    eager = statistics.median(times["eager", ROOT])
    head = f"{'command':<22} {'median s':>9} {'min':>7} {'max':>7} {'x floor':>8} {'x eager':>8}"
    print(head + (f" {'TREE s':>8} {'TREE/ours':>9}" if opts.compare else ""))
    for (name, tree), ts in times.items():
        if tree != ROOT:
            continue
        med = statistics.median(ts)
        line = f"{name:<22} {med:9.3f} {min(ts):7.3f} {max(ts):7.3f} {med / floor:8.1f} {med / eager:8.2f}"
        if opts.compare:
            theirs = statistics.median(times[name, trees[1]])
            line += f" {theirs:8.3f} {theirs / med:9.2f}"
        print(line)
    where = f"; TREE = {trees[1]}" if opts.compare else ""
    print(f"({opts.runs} runs each, round-robin; python {sys.version.split()[0]}, {os.cpu_count()} CPUs{where})")


if __name__ == "__main__":
    asyncio.run(main())
