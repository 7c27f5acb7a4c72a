"""What a poll pass costs and how much of it is parsing: a first poll and steady-state passes.

  (a) the first poll of N feeds: every body new, so parse + enrich + cluster + store, by fresh bots;
  (b) steady-state passes: each pass 1 feed in 20 gains a new entry (a different random 5% each
      time), the rest answer 304 or send the same bytes (every 4th server sends no validators).
For each it prints wall and CPU seconds and the CPU split: parse / enrich / cluster + store / the
rest (HTTP and TLS, hashing, scheduling, the poll-state write). Then CPU seconds per day for the same
feeds polled on the intervals bot/ingest/schedule.py gives them (each feed's dates shifted so its
newest entry is "now", as if it were live).

While bot/ingest/parse.py had its lxml fast path (`_parse_fast`, up to commit 9eca2e8) it ran two
bots side by side in one process, one forced onto feedparser, and printed what the fast path saved
(docs/decisions.md, "Feed parsing"); with one parser it measures that one.

Feeds: ../shared/data/feeds/realworld, the 200 files that hold entries (or only the < 30 KB ones
with --small), served by benchmarks/ingest.py's aiohttp server in a child process, whose CPU is not
counted: HTTPS on a loopback address per feed, or with --plain HTTP on one address. Run:
    python benchmarks/parser.py [--passes 20] [--first-polls 3] [--small] [--plain]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import (  # noqa: E402  (the path above first)
    CHANGED_EVERY,
    NEWS_SIZED,
    NO_VALIDATORS_EVERY,
    REALWORLD,
    serve,
    set_round,
    with_new_item,
)

SEED = 20261204


def _modes() -> tuple[str, ...]:
    import bot.ingest.parse as parse_module

    return ("fast path", "feedparser only") if hasattr(parse_module, "_parse_fast") else ("feedparser",)


MODES = _modes()
DAY = 86_400.0


def corpus(small: bool) -> list[bytes]:
    import csv

    with (REALWORLD / "MANIFEST.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if int(r["entries"]) > 0]
    return [(REALWORLD / r["path"]).read_bytes() for r in rows if not small or int(r["bytes"]) < NEWS_SIZED]


def build_rounds(first: list[bytes], passes: int) -> list[list[bytes]]:
    """Round 0 is the first poll; in each later round a fresh random 5% of the feeds gains an entry."""
    rng = random.Random(SEED)
    n = len(first)
    rounds = [list(first)]
    for r in range(1, passes + 1):
        bodies = list(rounds[-1])
        for i in rng.sample(range(n), max(1, n // CHANGED_EVERY)):
            bodies[i] = with_new_item(bodies[i], r * n + i)
        rounds.append(bodies)
    return rounds


class Split:
    """CPU time (of the thread doing the work) spent in parse, enrich and store_items, per pass."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.cpu[name] += time.thread_time() - t
                    self.calls[name] += 1

        return timed


@contextlib.contextmanager
def instrumented(mode: str, split: Split) -> Iterator[None]:
    """Time the pass's stages; in "feedparser only" mode the fast path declines every document,
    which is what parse_feed does for a document it cannot read (the switch lives here only)."""
    import bot.enrich as enrich_module
    import bot.ingest.parse as parse_module
    import bot.ingest.poll as poll_module

    # poll imports parse_feed and enrich where it first needs them, so they are wrapped at their homes
    saved = (parse_module.parse_feed, enrich_module.enrich, poll_module.store_items)
    fast = getattr(parse_module, "_parse_fast", None)
    if mode == "feedparser only":
        parse_module._parse_fast = lambda *a, **k: None
    parse_module.parse_feed = split.wrap("parse", saved[0])
    enrich_module.enrich = split.wrap("enrich", saved[1])
    poll_module.store_items = split.wrap("store", saved[2])
    try:
        yield
    finally:
        parse_module.parse_feed, enrich_module.enrich, poll_module.store_items = saved
        if fast is not None:
            parse_module._parse_fast = fast


class Bot:
    """One bot: its own SQLite database and fetcher, all feeds subscribed."""

    def __init__(self, mode: str, urls: list[str], workdir: Path) -> None:
        from bot.config import settings_from_dict
        from bot.ingest.service import StoryIndexCache
        from bot.ports import SystemClock
        from bot.storage import Storage
        from bot.store.errors import translate
        from bot.store.store import Store

        workdir.mkdir()
        self.mode = mode
        self.settings = settings_from_dict(
            {
                "bot": {"database": f"sqlite:///{workdir / 'bench.db'}"},
                # loopback addresses stand in for the feeds' hosts
                "fetch": {"allow_private_networks": True, "max_concurrency": 20, "max_per_host": 20},
            },
            workdir / "config.toml",
        )
        self.store = Store.open(self.settings.database_url)
        self.storage = Storage(self.store, translate=translate)
        self.stories = StoryIndexCache(self.settings.digest.cluster_hours)
        self.clock = SystemClock()
        for url in urls:
            self.store.add_feed(url, self.clock.now())

    async def poll(self) -> dict[str, Any]:
        from bot.ingest.fetch import Fetcher
        from bot.ingest.poll import poll_feeds

        split = Split()
        fetcher = Fetcher(self.settings.fetch)  # a fresh one per pass: passes are minutes apart in a real bot
        with instrumented(self.mode, split):
            wall, cpu = time.perf_counter(), time.process_time()
            report = await poll_feeds(self.storage, fetcher, self.settings, self.clock, self.stories)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await fetcher.close()
        parse, enrich, store = split.cpu["parse"], split.cpu["enrich"], split.cpu["store"]
        return {
            "wall": wall,
            "cpu": cpu,
            "parse": parse,
            "enrich": enrich,
            "store": store - enrich,  # store_items encloses enrich: dedupe, clustering, the write
            "rest": cpu - parse - store,
            "parsed": split.calls["parse"],
            "report": report,
        }


def warm_up(bodies: list[bytes]) -> None:
    """Import and compile everything both modes use, so that neither pays it inside a measurement."""
    from bot.config import DigestSettings
    from bot.enrich import enrich
    from bot.errors import FeedError
    from bot.ingest.parse import parse_feed

    now = datetime.now(UTC)
    for mode in MODES:
        with instrumented(mode, Split()):
            for body in bodies[:20]:
                with contextlib.suppress(FeedError):
                    for item in parse_feed(body, url="https://warm.example/", now=now).items[:3]:
                        enrich(item, DigestSettings())


def fmt(run: dict[str, Any]) -> str:
    cpu = run["cpu"]
    share = {k: 100 * run[k] / cpu if cpu else 0.0 for k in ("parse", "enrich", "store", "rest")}
    return (
        f"{run['wall']:6.2f}s wall {cpu:6.2f}s CPU | parse {run['parse']:5.2f}s ({share['parse']:4.1f}%)"
        f"  enrich {run['enrich']:5.2f}s ({share['enrich']:4.1f}%)  cluster+store {run['store']:5.2f}s"
        f" ({share['store']:4.1f}%)  rest {run['rest']:5.2f}s ({share['rest']:4.1f}%)  [{run['parsed']} parsed]"
    )


def schedule_polls_per_day(bodies: list[bytes]) -> tuple[list[float], list[float]]:
    """Each feed's polls per day on its adaptive interval, and the chance a poll finds something new
    (new entries arriving at the feed's own mean rate, as a Poisson process)."""
    from bot.config import FetchSettings
    from bot.errors import FeedError
    from bot.ingest import schedule
    from bot.ingest.parse import parse_feed

    policy = schedule.Policy.from_settings(FetchSettings())
    now = datetime.now(UTC)
    polls, changed = [], []
    for i, body in enumerate(bodies):
        try:
            feed = parse_feed(body, url=f"https://feed{i}.example/", now=now)
        except FeedError:
            feed = None
        dated = [it.published for it in feed.items if it.published] if feed else []
        if dated:
            shift = now - max(dated)  # as if the newest entry had just been posted
            dated = [d + shift for d in dated]
        interval = schedule.posting_interval(dated, now, policy)
        if feed is not None:
            interval = schedule.ttl_floor(feed.ttl_minutes, interval, policy)
        recent = [d for d in dated if now - d <= schedule.RATE_WINDOW]
        gap = max(now - min(recent), timedelta(hours=1)) / len(recent) if recent else None
        polls.append(DAY / interval.total_seconds())
        changed.append(1 - math.exp(-interval / gap) if gap else CHANGED_EVERY**-1)
    return polls, changed


async def run(server: Server, passes: int, first_polls: int, workdir: Path) -> dict[str, Any]:
    urls = server.urls
    server.round(0)
    await Bot(MODES[-1], urls, workdir / "warm-up").poll()  # caches of enrich and clustering, both parsers
    first: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for k in range(first_polls):
        # a shared, noisy machine: fresh bots each time, and neither mode always goes first
        bots = {mode: Bot(mode, urls, workdir / f"{k}-{i}") for i, mode in enumerate(MODES)}
        for mode in MODES if k % 2 == 0 else MODES[::-1]:
            first[mode].append(await bots[mode].poll())
    steady: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for r in range(1, passes + 1):
        server.round(r)
        for mode in MODES if r % 2 == 0 else MODES[::-1]:
            steady[mode].append(await bots[mode].poll())
    return {"first": first, "steady": steady}


class Server:
    """The feed server in a child process (its CPU is not counted): HTTPS on a loopback address per
    feed, so every poll opens its own TLS connection as it would to a real site; or, with
    `plain`, HTTP on one address, where connections are reused across feeds."""

    def __init__(self, rounds: list[list[bytes]], plain: bool, workdir: Path) -> None:
        import ssl

        n = len(rounds[0])
        self.hosts = 1 if plain else min(n, 254)
        tls = None
        self.context = None
        if not plain:
            cert, key = workdir / "cert.pem", workdir / "key.pem"
            names = ",".join(f"IP:127.0.0.{h}" for h in range(1, self.hosts + 1))
            request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
            request += ["-subj", "/CN=newsbot-bench", "-addext", f"subjectAltName={names}"]
            subprocess.run(
                [*request, "-keyout", str(key), "-out", str(cert)],
                check=True,
                capture_output=True,
            )
            tls = (str(cert), str(key))
            self.context = ssl.create_default_context(cafile=str(cert))
            # the bot's fetcher trusts what OpenSSL's default paths name; aiohttp reads them on import
            assert "aiohttp" not in sys.modules
            os.environ["SSL_CERT_FILE"] = str(cert)
        receive, send = mp.Pipe(duplex=False)
        self.process = mp.get_context("fork").Process(target=serve, args=(rounds, send, tls, self.hosts), daemon=True)
        self.process.start()
        port = receive.recv()
        scheme = "http" if plain else "https"
        self.base = f"{scheme}://127.0.0.1:{port}"
        self.urls = [f"{scheme}://127.0.0.{1 + i % self.hosts}:{port}/feed/{i}" for i in range(n)]

    def round(self, r: int) -> None:
        set_round(self.base, r, self.context)

    def close(self) -> None:
        self.process.terminate()
        self.process.join()


STAGES = ("wall", "cpu", "parse", "enrich", "store", "rest")


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: statistics.median(r[k] for r in runs) for k in STAGES} | {"parsed": runs[0]["parsed"]}


def summarise(n: int, bodies: list[bytes], out: dict[str, Any]) -> None:
    first, steady = out["first"], out["steady"]
    base = MODES[-1]  # feedparser
    fast = MODES[0] if len(MODES) > 1 else None
    k = len(first[base])
    report = first[base][0]["report"]
    print(
        f"(a) first poll of {n} feeds, every body new ({report.new_articles} articles, {report.failed} failed); "
        f"medians of {k} fresh bots per mode:"
    )
    for mode in MODES:
        print(f"  {mode:<16} {fmt(medians(first[mode]))}")
    whole = statistics.median(r["cpu"] for m in MODES for r in first[m])
    wall = statistics.median(r["wall"] for m in MODES for r in first[m])
    if fast:
        a, b = medians(first[fast]), medians(first[base])
        # enrich, clustering and storing do the same work in both modes: only the parse stage differs,
        # and its own timer is far steadier than the whole pass on a shared machine
        saved = b["parse"] - a["parse"]
        print(
            f"  parse {b['parse']:.2f}s -> {a['parse']:.2f}s ({b['parse'] / max(a['parse'], 1e-9):.1f}x): "
            f"saves {saved:.2f}s CPU = {100 * saved / whole:.1f}% of a first poll ({whole:.2f}s CPU, "
            f"{wall:.2f}s wall, median of all {len(MODES) * k}); whole-pass CPU medians differ by "
            f"{b['cpu'] - a['cpu']:+.2f}s"
        )

    passes = len(steady[base])
    changed = sum(r["parsed"] for r in steady[base]) / passes
    print(
        f"(b) steady state: {passes} passes of {n} feeds, {changed:.0f} changed per pass "
        f"({100 * changed / n:.0f}%), the rest 304 or an unchanged body (1 server in {NO_VALIDATORS_EVERY} "
        "sends no validators); medians per pass:"
    )
    for mode in MODES:
        print(f"  {mode:<16} {fmt(medians(steady[mode]))}")
    parse = {mode: sum(r["parse"] for r in steady[mode]) for mode in MODES}
    pass_cpu = statistics.median(r["cpu"] for m in MODES for r in steady[m])
    print(
        "  parse CPU per changed feed: "
        + ", ".join(f"{mode} {1000 * parse[mode] / passes / changed:.1f} ms" for mode in MODES)
        + f"; a pass {pass_cpu * 1000:.0f} ms CPU (median)"
    )
    # the parse stage is what differs; its timer is the steadiest
    saved_pass = (parse[base] - parse[fast]) / passes if fast else 0.0
    if fast:
        print(f"  fast path saves {saved_pass * 1000:.1f} ms per pass = {100 * saved_pass / pass_cpu:.1f}% of a pass")

    polls, p_changed = schedule_polls_per_day(bodies)
    per_day = sum(polls)
    print(
        f"CPU per day, these {n} feeds on their adaptive intervals (schedule.py defaults 10-360 min, "
        f"dates shifted to now): {per_day:,.0f} polls/day (median interval "
        f"{DAY / statistics.median(polls) / 60:.0f} min)"
    )
    # a day is a sum: means per pass here, not medians (which one changed feed's size swings)
    mean = {mode: {key: statistics.fmean(r[key] for r in steady[mode]) for key in STAGES} for mode in MODES}
    unchanged = {mode: mean[mode]["rest"] / n for mode in MODES}  # HTTP, hashing, scheduling: every poll
    more = {mode: (mean[mode]["parse"] + mean[mode]["enrich"] + mean[mode]["store"]) / changed for mode in MODES}
    print(
        "  per poll: "
        + ", ".join(
            f"{mode} {1000 * unchanged[mode]:.2f} ms, {1000 * more[mode]:.1f} ms more when changed of which parse "
            f"{1000 * mean[mode]['parse'] / changed:.1f} ms"
            for mode in MODES
        )
    )
    if fast:
        per_parse_saved = saved_pass / changed
        # the share of changed polls at which the fast path would save 15% of the day's polling CPU
        limit = 0.15 * more[base]
        even = 0.15 * unchanged[base] / (per_parse_saved - limit) if per_parse_saved > limit else 1.0
        print(f"  the fast path saves 15% of the day's polling CPU once {100 * even:.0f}% of polls find new content")
    poisson = sum(p * c for p, c in zip(polls, p_changed, strict=True)) / per_day
    for label, share in (
        (f"{100 / CHANGED_EVERY:.0f}% of polls changed (the brief's figure)", 1 / CHANGED_EVERY),
        (f"{100 * poisson:.0f}% changed (Poisson posting at each feed's own rate)", poisson),
    ):
        day = {mode: per_day * (unchanged[mode] + share * more[mode]) for mode in MODES}
        line = f"  {label}: " + ", ".join(f"{mode} {day[mode]:5.1f} CPU s/day" for mode in MODES)
        if fast:
            saved_day = per_day * share * saved_pass / changed
            line += f"; saving {saved_day:4.1f} s/day = {100 * saved_day / day[base]:.1f}% of the day's polling CPU"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=20, help="steady-state passes after the first poll")
    parser.add_argument("--first-polls", type=int, default=3, help="first polls per mode, each by a fresh bot")
    parser.add_argument("--plain", action="store_true", help="HTTP from one address (connections reused)")
    parser.add_argument("--small", action="store_true", help="only the < 30 KB files (news-sized)")
    args = parser.parse_args()
    if not REALWORLD.is_dir():
        print(f"benchmark needs {REALWORLD} (../shared beside the repository)", file=sys.stderr)
        return 1
    warnings.simplefilter("ignore", DeprecationWarning)  # feedparser's updated_parsed notice, per entry
    bodies = corpus(args.small)
    rounds = build_rounds(bodies, args.passes)
    print(
        f"{len(bodies)} real-world feeds ({sum(map(len, bodies)) / 1e6:.1f} MB{', < 30 KB only' if args.small else ''})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(rounds, args.plain, Path(tmp))
        print(
            f"served over {'HTTP from one address' if args.plain else f'HTTPS from {server.hosts} addresses'}; "
            "CPU is this process's (both threads), parse/enrich/store their own thread's CPU"
        )
        warm_up(bodies)
        try:
            out = asyncio.run(run(server, args.passes, args.first_polls, Path(tmp)))
        finally:
            server.close()
    summarise(len(bodies), bodies, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
