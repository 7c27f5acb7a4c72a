"""The SIGTERM gate stops every kind of digest post once closed: parent, story and follow-up alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from bot.config import settings_from_dict
from bot.models import ChannelRef, CommandRequest
from bot.shutdown import PostGate, Stopping
from tests.conftest import FixedClock, demo_config
from tests.fakes import FlakyAdapter


class WithUpdates(FlakyAdapter):
    async def post_update(self, *args: object) -> str:
        return "sent"


async def test_a_closed_gate_stops_parents_stories_and_follow_ups() -> None:
    adapter = WithUpdates()
    gate = PostGate()
    gate.install(adapter)
    assert await adapter.post_update() == "sent"  # open: posts go through
    gate.close()
    for name in ("post_parent", "post_story", "post_update"):
        with pytest.raises(Stopping):
            await getattr(adapter, name)()


async def test_digest_now_while_stopping_answers_and_leaves_the_digest_pending(sqlite_url: str, tmp_path: Path) -> None:
    demo_settings = settings_from_dict(demo_config(sqlite_url), tmp_path / "config.toml")
    app = App.open(demo_settings, clock=FixedClock(), adapters={"console": FlakyAdapter()})
    try:
        await app.poll()
        app.gate.close()  # SIGTERM arrived
        channel = ChannelRef("console", "#news")
        reply = await app.handle_command(CommandRequest(channel=channel, user="u", text="digest now", can_manage=True))
        assert not reply.ok and reply.lines == (
            "newsbot is stopping; this digest stays pending and is posted after the restart.",
        )
        [sub] = app.store.subscriptions()
        [pending] = app.store.pending_digests(sub.id)
        assert pending.claimed_by is None  # the claim was given back at once
    finally:
        await app.close()
