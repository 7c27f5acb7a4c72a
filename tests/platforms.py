"""Fixtures for the exactly-once tests: the loopback fakes of Slack and Discord, started per test.

`dfake` gives Discord no nonce window, so Discord's own dedupe cannot hide a resend and only
newsbot's look at the channel can prevent one; its ids are snowflakes of the current time.
Registered in conftest.py as a plugin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
import yarl

from tests.discord_fake import FakeDiscord
from tests.slack_fake import FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.close()


@pytest.fixture
async def dfake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord(nonce_window=0.0, time_ids=True).start()
    # the adapter points discord.py's Route.BASE at the fake; restore it after the test
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setenv("DISCORD_TOKEN", "fake-bot-token")
    yield server
    await server.close()


@pytest.fixture
async def dgateway(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A fake Discord with its gateway too (for the adapter's `start`: interactions arrive over it)."""
    server = await FakeDiscord().start()
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway_url))
    yield server
    await server.close()
