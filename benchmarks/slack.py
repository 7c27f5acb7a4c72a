"""Slack adapter figures against the loopback fake Slack: slash-command ack latency and 429 handling.

1. 50 concurrent signed `/news list` commands to the HTTP-mode bolt app (the real App behind
   it): ack latency p50/p99 and the time until the answer arrives, next to a bare aiohttp
   endpoint on the same loop answering the same requests (the floor this machine sets); then the
   same burst again while a first poll of the real-world feeds in ../shared/data (thousands of
   items: parse, condense, cluster, store) runs in the same App, same run.
2. A 20-story digest posted while the fake answers every fifth chat.postMessage with 429
   (Retry-After: 1): calls made, seconds taken, stories lost, next to the same digest without 429s.

    python benchmarks/slack.py [--commands 50] [--feeds 120] [--stories 20] [--interval 0.25] [--max-seconds 300]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.slack import SlackAdapter, SlackSecrets  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import settings_from_dict  # noqa: E402
from bot.models import ChannelRef, Digest, DigestStory, Span  # noqa: E402
from tests.slack_fake import FakeSlack, slash_form  # noqa: E402

SECRET = "benchmark-signing-secret"
EXAMPLES = ROOT / "examples" / "feeds"
REALWORLD = ROOT.parent / "shared" / "data" / "feeds" / "realworld"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
    }


async def burst(url: str, bodies: list[str]) -> list[float]:
    """POST every body at once; the seconds each took to get its HTTP response."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(body: str) -> float:
            start = time.perf_counter()
            async with session.post(url, data=body.encode(), headers=signed(body)) as response:
                await response.read()
                assert response.status == 200, response.status
            return time.perf_counter() - start

        return list(await asyncio.gather(*(one(b) for b in bodies)))


async def ack_latency(fake: FakeSlack, tmp: Path, n: int, big: int) -> None:
    large = sorted(REALWORLD.rglob("*.xml"))[:big] if REALWORLD.is_dir() else []
    raw = {
        "bot": {"database": f"sqlite:///{tmp / 'bench.db'}"},
        "console": {"enabled": False},
        "slack": {"enabled": True, "mode": "http", "api_base_url": fake.base_url, "managers": "everyone"},
        "fetch": {"allow_local_files": True},
        "feeds": [{"url": str(EXAMPLES / "pacific-wire.xml")}, *({"url": str(p)} for p in large)],
        "subscriptions": [{"channel": "slack:C0NEWS", "feeds": [str(EXAMPLES / "pacific-wire.xml")]}],
    }
    settings = settings_from_dict(raw, tmp / "config.toml")
    adapter = SlackAdapter(
        replace(settings.slack, http_host="127.0.0.1", http_port=0),
        SlackSecrets(bot_token="xoxb-test", signing_secret=SECRET),
    )
    app = App.open(settings, adapters={"slack": adapter})
    await adapter.start(app.handle_command)

    async def bare(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="")

    plain = web.Application()
    plain.router.add_post("/slack/events", bare)
    runner = web.AppRunner(plain, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
        await burst(url, [urlencode(slash_form(fake, "list", name="warm"))])  # bolt's first auth.test
        await fake.wait_for_responses(1)
        bodies = [urlencode(slash_form(fake, "list", name=f"c{i}")) for i in range(n)]
        sent = time.perf_counter()
        acks = await burst(url, bodies)
        await fake.wait_for_responses(n + 1, within=60)
        answered = time.perf_counter() - sent
        floor = await burst(f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events", bodies)
        # the same burst while a first poll of many real feeds stores its large batch
        polling = asyncio.create_task(app.poll())
        await asyncio.sleep(0.5)  # into the poll: fetched, parsing and storing
        busy_bodies = [urlencode(slash_form(fake, "list", name=f"p{i}")) for i in range(n)]
        sent = time.perf_counter()
        busy_acks = await burst(url, busy_bodies)
        overlapped = not polling.done()
        await fake.wait_for_responses(2 * n + 1, within=120)
        busy_answered = time.perf_counter() - sent
        report = await polling
        articles = report.new_articles
    finally:
        await runner.cleanup()
        await app.close()
    print(f"ack latency, {n} concurrent signed slash commands (HTTP mode, bolt AsyncApp, real router):")
    print(
        f"  bolt app     p50 {pct(acks, 0.5):7.1f} ms   p99 {pct(acks, 0.99):7.1f} ms   max {max(acks) * 1000:7.1f} ms"
    )
    print(f"  bare aiohttp p50 {pct(floor, 0.5):7.1f} ms   p99 {pct(floor, 0.99):7.1f} ms   (same loop, no bolt)")
    print(f"  all {n} ephemeral answers (response_url) arrived {answered * 1000:.0f} ms after the burst began")
    print(
        f"  during a poll p50 {pct(busy_acks, 0.5):6.1f} ms   p99 {pct(busy_acks, 0.99):7.1f} ms   "
        f"max {max(busy_acks) * 1000:7.1f} ms   (first poll of {len(large) + 1} feeds storing {articles} "
        f"articles in {report.seconds:.1f} s; {'still running' if overlapped else 'ended'} when the burst was acked)"
    )
    print(f"  all {n} answers during the poll arrived {busy_answered * 1000:.0f} ms after the burst began")


def synthetic_digest(stories: int) -> Digest:
    summary = "Officials in Port Alder met NATO delegates on Thursday. " * 3
    return Digest(
        1,
        ChannelRef("slack", "C0NEWS"),
        "News digest",
        datetime(2026, 11, 27, 7, tzinfo=UTC),
        tuple(
            DigestStory(
                i,
                f"Story {i}",
                f"https://news.example/{i}",
                "Wire",
                summary,
                (Span(28, 32, "ORG"),),
                ("NATO",),
            )
            for i in range(1, stories + 1)
        ),
        top_entities=("NATO", "Port Alder"),
    )


async def post_digest(stories: int, interval: float, every: int | None) -> tuple[int, float, int, int]:
    """(chat.postMessage calls, seconds, stories lost, 429s) for one digest posted as the core does."""
    fake = await FakeSlack(rate_limit_every=every, retry_after=1).start()
    raw = {"slack": {"enabled": True, "api_base_url": fake.base_url, "post_interval_seconds": interval}}
    settings = settings_from_dict(raw, Path("config.toml"))
    adapter = SlackAdapter(settings.slack, SlackSecrets(bot_token="xoxb-test"))  # stock jitter (up to 1 s)
    digest = synthetic_digest(stories)
    start = time.perf_counter()
    try:
        parent = await adapter.post_parent(digest.channel, digest)
        for position, story in enumerate(digest.stories, start=1):
            await adapter.post_story(digest.channel, digest, parent, story, position)
    finally:
        seconds = time.perf_counter() - start
        await fake.close()
    calls = fake.calls_to("chat.postMessage")
    replies = {m.text.split(".", 1)[0] for m in fake.posted if m.thread_ts == parent.ref}
    lost = stories - len(replies)
    return len(calls), seconds, lost, sum(c.status == 429 for c in calls)


async def main(args: argparse.Namespace) -> None:
    random.seed(1)  # the retry jitter, so runs compare
    logging.basicConfig(level=logging.ERROR)  # the 429 warnings are counted below instead
    fake = await FakeSlack().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            await ack_latency(fake, Path(tmp), args.commands, args.feeds)
    finally:
        await fake.close()
    print(f"\n{args.stories}-story digest, pacing {args.interval:g} s per channel:")
    for label, every in (("no 429s (baseline)", None), ("every 5th call 429, Retry-After: 1", 5)):
        calls, seconds, lost, limited = await post_digest(args.stories, args.interval, every)
        print(f"  {label:<36} calls {calls:3d}  429s {limited:2d}  {seconds:6.2f} s  stories lost {lost}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--feeds", type=int, default=120, help="real-world feeds in the concurrent first poll")
    parser.add_argument("--stories", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between posts to one channel")
    parser.add_argument("--max-seconds", type=float, default=300, help="give up after this long")
    arguments = parser.parse_args()
    try:
        asyncio.run(asyncio.wait_for(main(arguments), arguments.max_seconds))
    except TimeoutError:
        sys.exit(f"benchmark stopped after {arguments.max_seconds:g} s")
