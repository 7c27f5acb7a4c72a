"""The event loop never waits on the database.

Another connection holds SQLite's write lock for 2 s (as a big poll's store step can, or a second
newsbot process); meanwhile slash commands arrive on Slack (signed HTTP to the real bolt app) and on
Discord (INTERACTION_CREATE over the fake gateway to the real discord.py client). Each must be
acknowledged within 0.5 s, the loop must never stall for more than 100 ms, and each must get its
real answer once the lock is gone: the command that writes waits for the lock off the loop. A
command that cannot get the database within its patience says so instead of timing out silently.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from adapters.discord import DiscordAdapter
from adapters.slack import SlackAdapter, SlackSecrets
from bot.app import App
from bot.config import DiscordSettings, settings_from_dict
from bot.models import ChannelRef, CommandRequest
from bot.storage import COMMAND_PATIENCE
from tests.conftest import EXAMPLE_FEEDS, FixedClock, demo_config
from tests.discord_fake import APP_ID, GUILD_ID, TEXT_ID, FakeDiscord
from tests.slack_fake import FakeSlack, shown_text, slash_form

HOLD_SECONDS = 2.0
ACK_WITHIN = 0.5
STALL_LIMIT = 0.1
SECRET = "signing-secret-for-tests"


class LoopWatch:
    """Measures the event loop's worst stall: how late a 10 ms sleep wakes up."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - start - 0.01)

    def __enter__(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


@contextmanager
def write_lock_held(db: Path, seconds: float) -> Iterator[threading.Event]:
    """Another connection (in another thread) takes SQLite's write lock and keeps it for `seconds`."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE feeds SET name = name")
        taken.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()
        done.set()

    thread = threading.Thread(target=hold, name="write-lock-holder")
    thread.start()
    assert taken.wait(5)
    try:
        yield done
    finally:
        thread.join()


def _settings(tmp_path: Path, **extra: Any) -> Any:
    raw = demo_config(f"sqlite:///{tmp_path / 'newsbot.db'}", console={"enabled": False}) | extra
    return settings_from_dict(raw, tmp_path / "config.toml")


# --- Slack --------------------------------------------------------------------------------------


@asynccontextmanager
async def slack_bot(tmp_path: Path, clock: FixedClock) -> AsyncIterator[tuple[App, SlackAdapter, FakeSlack]]:
    fake = await FakeSlack().start()
    settings = _settings(
        tmp_path,
        slack={"enabled": True, "mode": "http", "api_base_url": fake.base_url, "managers": "everyone"},
        subscriptions=[{"channel": "slack:C0NEWS", "feeds": [str(EXAMPLE_FEEDS / "pacific-wire.xml")]}],
    )
    adapter = SlackAdapter(
        replace(settings.slack, http_host="127.0.0.1", http_port=0),
        SlackSecrets(bot_token="xoxb-test", signing_secret=SECRET),
        retry_jitter=0.0,
    )
    app = App.open(settings, clock=clock, adapters={"slack": adapter})
    await adapter.start(app.handle_command)
    try:
        yield app, adapter, fake
    finally:
        await app.close()
        await fake.close()


async def slash(session: aiohttp.ClientSession, adapter: SlackAdapter, fake: FakeSlack, text: str) -> float:
    """Send one signed slash command; returns the seconds until Slack's HTTP request was acknowledged."""
    name = f"r-{text.split()[0]}"
    body = urlencode(slash_form(fake, text, user="U0USER", name=name))
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
    }
    start = time.perf_counter()
    async with session.post(
        f"http://127.0.0.1:{adapter.http_port}/slack/events", data=body.encode(), headers=headers
    ) as r:
        assert (r.status, await r.text()) == (200, "")
    return time.perf_counter() - start


def slack_answer(fake: FakeSlack, text: str) -> str | None:
    name = f"r-{text.split()[0]}"
    return next((shown_text(b["blocks"]) for n, b in fake.responses if n == name), None)


async def test_slack_commands_are_acknowledged_at_once_while_the_database_is_locked(
    tmp_path: Path, clock: FixedClock
) -> None:
    async with slack_bot(tmp_path, clock) as (app, adapter, fake), aiohttp.ClientSession() as session:
        with LoopWatch() as watch, write_lock_held(tmp_path / "newsbot.db", HOLD_SECONDS) as released:
            acks = [await slash(session, adapter, fake, t) for t in ("list", "schedule 07:30 Europe/Paris")]
            assert not released.is_set()  # both were acknowledged while the lock was held
            await fake.wait_until(lambda: slack_answer(fake, "list") is not None)
            assert not released.is_set()  # reading needs no write lock (WAL): answered meanwhile
        await fake.wait_until(lambda: slack_answer(fake, "schedule") is not None)
    assert max(acks) < ACK_WITHIN, acks
    assert watch.worst < STALL_LIMIT, f"the loop stalled {watch.worst * 1000:.0f} ms"
    assert "This channel follows 1 feed" in (slack_answer(fake, "list") or "")
    assert slack_answer(fake, "schedule") == "Digest at 07:30 Europe/Paris, every day."
    sub = app.store.subscription(ChannelRef("slack", "C0NEWS"))
    assert sub is not None and sub.schedule == ("07:30",)  # the write went through once the lock was free


# --- Discord ------------------------------------------------------------------------------------


async def test_discord_commands_are_acknowledged_at_once_while_the_database_is_locked(
    tmp_path: Path, clock: FixedClock, dgateway: FakeDiscord
) -> None:
    fake = dgateway
    settings = _settings(tmp_path, subscriptions=[{"channel": f"discord:{TEXT_ID}", "feeds": "all"}])
    options = {"enabled": True, "api_base_url": fake.base_url, "guild_ids": (GUILD_ID,)}
    adapter = DiscordAdapter(DiscordSettings(**options), "fake-bot-token", guild_ready_timeout=0.05)
    app = App.open(settings, clock=clock, adapters={"discord": adapter})
    await adapter.start(app.handle_command)
    try:
        payloads = {
            "list": fake.interaction("list"),
            "schedule": fake.interaction("schedule", [{"type": 3, "name": "times", "value": "06:45"}]),
        }
        with LoopWatch() as watch, write_lock_held(tmp_path / "newsbot.db", HOLD_SECONDS) as released:
            acks = {}
            for name, payload in payloads.items():
                start = time.perf_counter()
                await fake.dispatch("INTERACTION_CREATE", payload)
                route = rf"/interactions/{payload['id']}/{payload['token']}/callback"
                await fake.wait_for(lambda route=route: fake.find("POST", route))  # type: ignore[misc]
                acks[name] = time.perf_counter() - start
            assert not released.is_set()
        answers = {}
        for name, payload in payloads.items():
            route = rf"/webhooks/{APP_ID}/{payload['token']}"
            (followup,) = await fake.wait_for(lambda route=route: fake.find("POST", route))  # type: ignore[misc]
            answers[name] = followup.body["content"]
    finally:
        await app.close()
    assert max(acks.values()) < ACK_WITHIN, acks
    assert watch.worst < STALL_LIMIT, f"the loop stalled {watch.worst * 1000:.0f} ms"
    assert answers["list"].startswith("This channel follows 3 feeds")
    assert answers["schedule"].startswith("Digest at 06:45")


# --- a lock held past the command's patience ---------------------------------------------------


async def test_a_command_that_cannot_get_the_database_in_time_says_so(tmp_path: Path, clock: FixedClock) -> None:
    app = App.open(_settings(tmp_path), clock=clock, adapters={})
    channel = ChannelRef("console", "#news")
    try:
        with LoopWatch() as watch, write_lock_held(tmp_path / "newsbot.db", COMMAND_PATIENCE + 2.0):
            start = time.perf_counter()
            reply = await app.handle_command(CommandRequest(channel, "op", "schedule 09:15", can_manage=True))
            waited = time.perf_counter() - start
        assert not reply.ok and "database is busy" in reply.text and "try again" in reply.text
        assert waited < COMMAND_PATIENCE + 1.0  # it gave up after its patience, not the lock holder's 4.5 s
        assert watch.worst < STALL_LIMIT
        sub = app.store.subscription(channel)
        assert sub is not None and sub.schedule == ("08:00",)  # nothing changed
        reply = await app.handle_command(CommandRequest(channel, "op", "schedule 09:15", can_manage=True))
        assert reply.ok  # and once the lock is gone, the same command works
    finally:
        await app.close()
