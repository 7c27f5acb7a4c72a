"""/news app commands: registration, gateway-injected interactions answered through the fake Discord.

The adapter starts for real (REST login, command sync, gateway IDENTIFY/READY on loopback);
interactions arrive as INTERACTION_CREATE frames and are answered by discord.py's own
interaction-callback and webhook calls, which the fake records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.commands import command_text
from bot.app import App
from bot.commands.router import USAGE
from bot.config import DiscordSettings, settings_from_dict
from bot.limits import MAX_SENTENCES, MAX_STORIES, MAX_TOPIC_CHARS
from bot.models import ChannelRef
from tests.conftest import FixedClock, demo_config
from tests.discord_fake import (
    APP_ID,
    GUILD_ID,
    MANAGE_CHANNELS,
    MEMBER_PERMISSIONS,
    OWNER_ID,
    TEXT_ID,
    Call,
    FakeDiscord,
)
from tests.memory_store import MemoryStore

TOKEN = "fake-bot-token-never-shown"
NO_MENTIONS = {"parse": []}
EPHEMERAL = 64
CHANNEL = ChannelRef("discord", str(TEXT_ID))


@pytest.fixture
def fake(dgateway: FakeDiscord) -> FakeDiscord:
    return dgateway  # tests/platforms.py


async def start_bot(
    url: str | None, tmp_path: Path, clock: FixedClock, fake: FakeDiscord, **discord_options: Any
) -> tuple[App, DiscordAdapter]:
    """The bot on the database at `url`, or (None) over a MemoryStore, synced from the config as at start-up."""
    options: dict[str, Any] = {"enabled": True, "api_base_url": fake.base_url, "guild_ids": (GUILD_ID,)}
    adapter = DiscordAdapter(DiscordSettings(**(options | discord_options)), TOKEN, guild_ready_timeout=0.05)
    raw = demo_config(
        url or "sqlite:///unused.db",
        console={"enabled": False},
        subscriptions=[{"channel": f"discord:{TEXT_ID}", "feeds": "all", "timezone": "Europe/Brussels"}],
    )
    settings = settings_from_dict(raw, tmp_path / "config.toml")
    if url is None:
        # App is typed for the concrete Store; these tests reach only the command ports the fake has
        app = App(settings, MemoryStore(), {"discord": adapter}, clock)  # type: ignore[arg-type]
        app.sync_config()
    else:
        app = App.open(settings, clock=clock, adapters={"discord": adapter})
    assert adapter.lookup is app.commands  # the commands service answers autocomplete and the stored manager
    await adapter.start(app.handle_command)
    return app, adapter


@pytest.fixture
async def bot(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord
) -> AsyncIterator[tuple[App, DiscordAdapter]]:
    app, adapter = await start_bot(sqlite_url, tmp_path, clock, fake)
    yield app, adapter
    await app.close()


@pytest.fixture
async def memory_bot(tmp_path: Path, clock: FixedClock, fake: FakeDiscord) -> AsyncIterator[tuple[App, DiscordAdapter]]:
    """The bot over tests/memory_store.py: for tests of the commands and their rendering that never
    poll or search (the fake has no ingest or search)."""
    app, adapter = await start_bot(None, tmp_path, clock, fake)
    assert isinstance(app.store, MemoryStore)
    yield app, adapter
    await app.close()


async def invoke(fake: FakeDiscord, payload: dict[str, Any]) -> tuple[Call, list[Call]]:
    """Send an interaction over the gateway; return its callback and, once answered, its follow-ups."""
    token = payload["token"]
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await fake.wait_for(lambda: fake.find("POST", rf"/interactions/{payload['id']}/{token}/callback"))
    if callback[0].body["type"] != 5:
        return callback[0], []
    followups = await fake.wait_for(lambda: fake.find("POST", rf"/webhooks/{APP_ID}/{token}"))
    for call in followups:
        assert call.body["allowed_mentions"] == NO_MENTIONS
    return callback[0], followups


def option(name: str, value: Any, kind: int = 3, focused: bool = False) -> dict[str, Any]:
    return {"type": kind, "name": name, "value": value} | ({"focused": True} if focused else {})


async def test_start_uses_the_guilds_intent_only_and_registers_every_subcommand_in_the_guild(
    memory_bot: tuple[App, DiscordAdapter], fake: FakeDiscord
) -> None:
    assert [i["intents"] for i in fake.identify] == [discord.Intents(guilds=True).value]
    assert TOKEN in fake.identify[0]["token"]  # sent to the gateway, and only there
    (put,) = fake.find("PUT", rf"/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    assert not fake.find("PUT", rf"/applications/{APP_ID}/commands")
    (news,) = put.body
    assert news["name"] == "news" and news["contexts"] == [0]
    assert int(news["default_member_permissions"]) == MANAGE_CHANNELS
    subcommands = {s["name"]: s for s in news["options"]}
    assert set(subcommands) == set(USAGE)  # every command of the core service
    for sub in subcommands.values():
        assert sub["description"]
        for opt in sub["options"]:
            assert opt["description"], (sub["name"], opt["name"])
    assert subcommands["unsubscribe"]["options"][0]["autocomplete"] is True
    assert subcommands["unfollow"]["options"][0]["autocomplete"] is True
    assert [c["value"] for c in subcommands["help"]["options"][0]["choices"]] == list(USAGE)


async def test_a_start_logs_no_warning_about_voice_newsbot_never_uses(
    sqlite_url: str,
    tmp_path: Path,
    clock: FixedClock,
    fake: FakeDiscord,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # discord.py warns once per process; make this start the first
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True)
    with caplog.at_level(logging.WARNING):
        app, _adapter = await start_bot(sqlite_url, tmp_path, clock, fake)
        await app.close()
    assert [r.getMessage() for r in caplog.records if r.name.startswith("discord")] == []


async def test_global_commands_are_synced_only_when_they_change(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord
) -> None:
    for _ in range(2):  # the second start is a restart with the same definitions
        app, _adapter = await start_bot(sqlite_url, tmp_path, clock, fake, guild_ids=(), managers="everyone")
        await app.close()
    puts = fake.find("PUT", rf"/applications/{APP_ID}/commands")
    assert len(puts) == 1 and len(fake.find("GET", rf"/applications/{APP_ID}/commands")) == 2
    assert puts[0].body[0].get("default_member_permissions") is None

    app, _adapter = await start_bot(sqlite_url, tmp_path, clock, fake, guild_ids=(), command="headlines")
    await app.close()
    assert len(fake.find("PUT", rf"/applications/{APP_ID}/commands")) == 2


async def test_a_manager_changes_the_schedule_and_the_channel_sees_the_answer(
    memory_bot: tuple[App, DiscordAdapter], fake: FakeDiscord
) -> None:
    app, _adapter = memory_bot
    options = [option("times", "08:00 18:30"), option("timezone", "Europe/Paris"), option("weekdays", "mon, wed")]
    callback, followups = await invoke(fake, fake.interaction("schedule", options))
    assert callback.body == {"type": 5} and callback.query.get("with_response") == "1"  # deferred, public
    assert [f.body["content"] for f in followups] == ["Digest at 08:00, 18:30 Europe/Paris, mon, wed."]
    assert not followups[0].body.get("flags", 0) & EPHEMERAL
    sub = app.store.subscription(CHANNEL)
    assert sub is not None and sub.schedule == ("08:00", "18:30") and sub.weekdays == ("mon", "wed")


async def test_a_member_without_manage_channels_is_refused_privately_and_nothing_changes(
    memory_bot: tuple[App, DiscordAdapter], fake: FakeDiscord
) -> None:
    app, _adapter = memory_bot
    payload = fake.interaction(
        "subscribe", [option("url", "https://feeds.example/a.xml")], user_id=42, permissions=MEMBER_PERMISSIONS
    )
    callback, followups = await invoke(fake, payload)
    assert callback.body == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert "not allowed to change this channel's news" in followups[0].body["content"]
    assert followups[0].body["flags"] & EPHEMERAL
    assert len(await app.commands.channel_feeds(CHANNEL)) == 3

    # looking is allowed to everyone, and private
    callback, followups = await invoke(fake, fake.interaction("list", user_id=42, permissions=MEMBER_PERMISSIONS))
    assert followups[0].body["content"].startswith("This channel follows 3 feeds:")
    assert followups[0].body["flags"] & EPHEMERAL


async def test_follow_takes_a_multi_word_topic_and_autocomplete_offers_the_channels_own_topics_and_feeds(
    memory_bot: tuple[App, DiscordAdapter], fake: FakeDiscord
) -> None:
    app, _adapter = memory_bot
    _, followups = await invoke(fake, fake.interaction("follow", [option("topic", "South Korea")]))
    assert followups[0].body["content"].startswith("Following South Korea")

    ask = fake.interaction("unfollow", [option("topic", "kor", focused=True)], kind=4)
    callback, _ = await invoke(fake, ask)
    assert callback.body == {"type": 8, "data": {"choices": [{"name": "South Korea", "value": "South Korea"}]}}

    ask = fake.interaction("unsubscribe", [option("feed", "harbor", focused=True)], kind=4)
    callback, _ = await invoke(fake, ask)
    (choice,) = callback.body["data"]["choices"]
    assert choice["name"].startswith(f"{choice['value']}. Harbor Ledger — ") and len(choice["name"]) <= 100

    _, followups = await invoke(fake, fake.interaction("unsubscribe", [option("feed", choice["value"])]))
    assert followups[0].body["content"].startswith("Unsubscribed from Harbor Ledger")
    assert [f.name for f in await app.commands.channel_feeds(CHANNEL)] == ["Pacific Wire", "Lakeside Courier"]


async def test_an_error_after_a_public_deferral_is_shown_only_to_the_caller_with_the_usage(
    memory_bot: tuple[App, DiscordAdapter], fake: FakeDiscord
) -> None:
    payload = fake.interaction("schedule", [option("times", "25:00")])
    callback, followups = await invoke(fake, payload)
    assert callback.body == {"type": 5}
    assert fake.find("DELETE", rf"/webhooks/{APP_ID}/{payload['token']}/messages/@original")
    text = followups[0].body["content"]
    assert "25:00" in text and "Usage: schedule" in text and followups[0].body["flags"] & EPHEMERAL

    both = [option("topic", "NATO"), option("only", "on")]
    callback, followups = await invoke(fake, fake.interaction("follow", both))
    assert callback.body["data"]["flags"] & EPHEMERAL
    assert followups[0].body["content"].startswith("Give either a topic or only, not both.")


async def test_search_answers_with_one_embed_per_story_and_help_privately(
    bot: tuple[App, DiscordAdapter], fake: FakeDiscord
) -> None:
    app, _adapter = bot
    await app.poll()
    _, followups = await invoke(fake, fake.interaction("search", [option("query", "global cooperation")]))
    body = followups[0].body
    assert re.fullmatch(r"Top \d for global cooperation:", body["content"])
    assert body["embeds"][0]["title"] == "NATO and South Korea agree to increase global cooperation"
    assert body["embeds"][0]["url"].startswith("https://pacificwire.example/")

    _, followups = await invoke(fake, fake.interaction("help", [option("command", "schedule")]))
    assert followups[0].body["content"].startswith("Usage: schedule <HH:MM> \\[more times]")  # inert markdown
    assert followups[0].body["flags"] & EPHEMERAL


async def test_a_refused_digest_tells_the_caller_and_whoever_configured_the_channel(
    bot: tuple[App, DiscordAdapter], fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    app, _adapter = bot
    await invoke(fake, fake.interaction("settings", [option("stories", 5, kind=4)]))  # OWNER_ID configures
    fake.fail("POST", rf"/channels/{TEXT_ID}/messages", times=10)

    _, followups = await invoke(fake, fake.interaction("digest", user_id=42, permissions=MEMBER_PERMISSIONS))
    text = followups[0].body["content"]
    assert "Could not post the digest" in text and "(likely Send Messages)" in text and "stays pending" in text
    assert followups[0].body["flags"] & EPHEMERAL

    (dm,) = fake.find("POST", "/users/@me/channels")
    assert dm.body == {"recipient_id": OWNER_ID} or dm.body == {"recipient_id": str(OWNER_ID)}
    (note,) = [c for c in fake.find("POST", r"/channels/\d+/messages") if "could not post" in c.body["content"]]
    assert f"<#{TEXT_ID}>" in note.body["content"] and "Nothing is lost" in note.body["content"]
    assert note.body["allowed_mentions"] == NO_MENTIONS
    assert any("stays pending" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")

    # told once: the next failure is logged, not sent again
    await invoke(fake, fake.interaction("digest", user_id=42, permissions=MEMBER_PERMISSIONS))
    assert len(fake.find("POST", "/users/@me/channels")) == 1
    sub = app.store.subscription(CHANNEL)
    assert sub is not None and len(app.store.pending_digests(sub.id)) == 1


@pytest.mark.parametrize(
    ("name", "options", "text"),
    [
        ("subscribe", {"url": "https://x.example/feed"}, "subscribe https://x.example/feed"),
        ("subscribe", {"url": "two words"}, "subscribe 'two words'"),
        ("unsubscribe", {"feed": "3"}, "unsubscribe 3"),
        ("list", {}, "list"),
        ("search", {"query": 'nato "south korea"'}, 'search nato "south korea"'),
        ("digest", {}, "digest now"),
        ("schedule", {}, "schedule"),
        ("schedule", {"times": "off"}, "schedule off"),
        (
            "schedule",
            {"times": "08:00", "timezone": "Europe/Paris", "weekdays": "mon , fri"},
            "schedule 08:00 Europe/Paris mon,fri",
        ),
        ("follow", {"topic": "South Korea"}, "follow 'South Korea'"),
        ("follow", {"topic": "O'Brien"}, "follow 'O'\"'\"'Brien'"),
        ("follow", {"only": "on"}, "follow only on"),
        ("follow", {"topic": "X", "only": "on"}, "follow X"),  # never a topic named "X on"
        ("follow", {}, "follow"),
        ("unfollow", {"topic": "South Korea"}, "unfollow 'South Korea'"),
        ("settings", {"stories": 5, "sentences": 2, "nonews": False}, "settings stories 5 sentences 2 nonews off"),
        ("settings", {}, "settings"),
        ("help", {"command": "schedule"}, "help schedule"),
        ("help", {"command": None}, "help"),
    ],
)
def test_each_subcommand_becomes_the_command_line_the_router_parses(
    name: str, options: dict[str, Any], text: str
) -> None:
    assert command_text(name, **options) == text


def test_the_command_tree_offers_exactly_the_limits_the_core_enforces() -> None:
    group = DiscordAdapter(DiscordSettings(), TOKEN).group
    options = {
        (command.name, o["name"]): o for command in group.commands for o in command.to_dict(None).get("options", [])
    }
    assert (options["settings", "stories"]["min_value"], options["settings", "stories"]["max_value"]) == (
        1,
        MAX_STORIES,
    )
    assert options["settings", "sentences"]["max_value"] == MAX_SENTENCES
    assert f"1-{MAX_STORIES}" in options["settings", "stories"]["description"]
    assert f"1-{MAX_SENTENCES}" in options["settings", "sentences"]["description"]
    assert options["follow", "topic"]["max_length"] == options["unfollow", "topic"]["max_length"] == MAX_TOPIC_CHARS


async def test_whoever_configured_the_channel_is_still_told_after_a_restart(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord
) -> None:
    app, _ = await start_bot(sqlite_url, tmp_path, clock, fake)
    await invoke(fake, fake.interaction("settings", [option("stories", 5, kind=4)]))  # OWNER_ID configures
    await app.close()
    app, _ = await start_bot(sqlite_url, tmp_path, clock, fake)  # a new process: nothing in memory
    fake.fail("POST", rf"/channels/{TEXT_ID}/messages", times=10)
    await invoke(fake, fake.interaction("digest", user_id=42, permissions=MEMBER_PERMISSIONS))
    (dm,) = fake.find("POST", "/users/@me/channels")
    assert str(dm.body["recipient_id"]) == str(OWNER_ID)
    await app.close()
