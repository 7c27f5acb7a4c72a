"""Digests through discord.py's real HTTP client against a fake Discord REST API on loopback.

The seed digest end to end (golden request bodies for both styles), exactly once across a
restart mid-thread, refused permissions, rate limits, forum channels, and hostile feed text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.config import Settings, settings_from_dict
from bot.errors import ConfigError
from bot.models import ChannelRef, Digest, DigestStory, PostedMessage
from tests.conftest import FixedClock, demo_config
from tests.discord_fake import FORUM_ID, TEXT_ID, VOICE_ID, FakeDiscord

GOLDEN = Path(__file__).parent / "data" / "discord"
TOKEN = "fake-bot-token-never-shown"
NO_MENTIONS = {"parse": []}


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    # the adapter points discord.py's Route.BASE at api_base_url; restore it after the test
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    yield server
    await server.close()


def make_settings(
    sqlite_url: str, tmp_path: Path, fake: FakeDiscord, channel: int = TEXT_ID, style: str = "embeds", **extra: Any
) -> Settings:
    raw = demo_config(
        sqlite_url,
        console={"enabled": False},
        discord={"enabled": True, "api_base_url": fake.base_url, "style": style},
        subscriptions=[
            {"channel": f"discord:{channel}", "feeds": "all", "schedule": "08:00", "timezone": "Europe/Brussels"}
        ],
        **extra,
    )
    return settings_from_dict(raw, tmp_path / "config.toml")


async def run_digest(settings: Settings, clock: FixedClock, poll: bool = True) -> list[str]:
    """One `newsbot digest --once`: a fresh App (and adapter, so a restart), poll, post, close."""
    app = App.open(settings, clock=clock)
    try:
        if poll:
            report = await app.poll()
            assert report.failed == 0, report.errors
        outcomes = await app.digest_all()
    finally:
        await app.close()
    return [f"{o.status} {o.stories} {o.message}".strip() for o in outcomes]


def posts(fake: FakeDiscord) -> list[dict[str, Any]]:
    """Every accepted request that creates something visible, in order."""
    wanted = re.compile(r"/channels/\d+/(messages|threads|messages/\d+/threads)")
    return [
        {"method": c.method, "path": c.path, "body": c.body}
        for c in fake.calls
        if c.method == "POST" and wanted.fullmatch(c.path) and c.status < 300
    ]


def story_posts(fake: FakeDiscord, thread_id: int | str) -> list[dict[str, Any]]:
    return fake_bodies(fake, rf"/channels/{thread_id}/messages")


def fake_bodies(fake: FakeDiscord, path: str) -> list[dict[str, Any]]:
    return [c.body for c in fake.find("POST", path)]


def story_key(body: dict[str, Any]) -> str:
    """The title line of a story message, whichever style it was posted in."""
    if body.get("embeds"):
        return str(body["embeds"][0]["title"])
    return str(body["content"]).split("\n", 1)[0]


def check_golden(name: str, data: Any) -> None:
    path = GOLDEN / name
    text = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs; UPDATE_GOLDEN=1 rewrites it"


@pytest.mark.parametrize("style", ["embeds", "markdown"])
async def test_seed_digest_is_one_parent_one_public_thread_and_one_message_per_story(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord, style: str
) -> None:
    settings = make_settings(sqlite_url, tmp_path, fake, style=style)
    assert await run_digest(settings, clock) == ["posted 8"]
    check_golden(f"seed_{style}.json", posts(fake))

    parents = fake.find("POST", rf"/channels/{TEXT_ID}/messages")
    assert len(parents) == 1
    parent_id = fake.find("POST", rf"/channels/{TEXT_ID}/messages/\d+/threads")
    # a public thread made from the parent message, never TextChannel.create_thread (private)
    assert [c.path for c in parent_id] == [f"/channels/{TEXT_ID}/messages/1300000000000000001/threads"]
    assert not fake.find("POST", rf"/channels/{TEXT_ID}/threads")
    stories = story_posts(fake, 1300000000000000001)
    assert len(stories) == 8 and len({story_key(b) for b in stories}) == 8
    for body in [parents[0].body, *stories]:
        assert body["allowed_mentions"] == NO_MENTIONS
        # the digest's key (id and planning time) and the position
        assert re.fullmatch(rf"\d+-{int(clock.now().timestamp() * 1000):x}\.\d+", body["nonce"])
        assert body["enforce_nonce"] is True
    nato = next(b for b in stories if "global cooperation" in story_key(b))
    if style == "embeds":  # an embed's title is bold as a whole; entities are bold in the description
        title, text = nato["embeds"][0]["title"], nato["embeds"][0]["description"]
    else:
        title, text = nato["content"].split("\n", 1)
        assert title.startswith("**") and title.endswith("**")
    assert "NATO" in title
    for entity in ("South Korea", "Kim Kyung-hyup", "Stian Jenssen"):
        assert f"**{entity}**" in text, entity
    # REST only: one login, no gateway for a digest run
    assert len(fake.find("GET", "/users/@me")) == 1 and fake.identify == []

    clock.advance(minutes=5)
    (again,) = await run_digest(settings, clock)
    assert again.startswith("empty 0 nothing new since the last digest")
    assert len(posts(fake)) == 10


async def test_a_restart_in_the_middle_of_the_thread_continues_it_without_repeating_anything(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord
) -> None:
    settings = make_settings(sqlite_url, tmp_path, fake)
    thread = 1300000000000000001
    fake.fail("POST", rf"/channels/{thread}/messages", skip=3)  # the 4th story is refused
    outcomes = await run_digest(settings, clock)
    assert len(outcomes) == 1 and outcomes[0].startswith("failed 0")
    assert "(likely Send Messages in Threads)" in outcomes[0] and "stays pending" in outcomes[0]
    assert len(story_posts(fake, thread)) == 3

    clock.advance(hours=2)  # past any retry delay the core may set
    resumed = await run_digest(settings, clock, poll=False)
    assert resumed[0] == "resumed 5" and resumed[1].startswith("empty 0")
    assert len(fake.find("POST", rf"/channels/{TEXT_ID}/messages")) == 1  # one parent
    assert len(fake.find("POST", r"/channels/\d+/messages/\d+/threads")) == 1  # one thread
    stories = story_posts(fake, thread)
    assert len(stories) == 8 and len({story_key(b) for b in stories}) == 8
    assert [story_key(b).split(".")[0] for b in stories] == [str(i) for i in range(1, 9)]


async def test_a_crash_while_a_story_is_in_flight_resumes_the_thread_without_a_duplicate(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord
) -> None:
    settings = make_settings(sqlite_url, tmp_path, fake)
    thread = 1300000000000000001
    fake.stall("POST", rf"/channels/{thread}/messages", skip=3)  # story 4 is posted, its answer never comes
    app = App.open(settings, clock=clock)
    try:
        await app.poll()
        run = asyncio.create_task(app.digest_all())
        await fake.wait_for(lambda: len(fake.messages_in(thread)) == 4)
        run.cancel()  # the process dies before story 4 is recorded
        with contextlib.suppress(asyncio.CancelledError):
            await run
    finally:
        await app.close()

    clock.advance(hours=2)
    # story 4 is found in the thread (the run died with it in doubt) and recorded: 5 to 8 are posted
    assert (await run_digest(settings, clock, poll=False))[0] == "resumed 4"
    assert len(fake.find("POST", rf"/channels/{TEXT_ID}/messages")) == 1
    assert fake.find("GET", rf"/channels/{thread}/messages")  # looked before posting
    assert len([c for c in fake.calls if c.method == "POST" and c.path == f"/channels/{thread}/messages"]) == 8
    stories = fake.messages_in(thread)
    assert len(stories) == 8 and len({story_key(m) for m in stories}) == 8


async def test_a_refused_thread_is_created_later_from_the_same_parent_message(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord
) -> None:
    settings = make_settings(sqlite_url, tmp_path, fake)
    fake.fail("POST", r"/channels/\d+/messages/\d+/threads", times=2)
    outcomes = await run_digest(settings, clock)
    assert outcomes[0].startswith("failed 0") and "(likely Create Public Threads)" in outcomes[0]
    assert len(fake.find("POST", rf"/channels/{TEXT_ID}/messages")) == 1

    clock.advance(hours=2)
    assert (await run_digest(settings, clock, poll=False))[0] == "resumed 8"
    assert len(fake.find("POST", rf"/channels/{TEXT_ID}/messages")) == 1  # no second parent
    threads = fake.find("POST", r"/channels/\d+/messages/\d+/threads")
    assert [c.path for c in threads] == [f"/channels/{TEXT_ID}/messages/1300000000000000001/threads"]
    assert len(story_posts(fake, 1300000000000000001)) == 8


async def test_a_thread_that_already_exists_is_found_not_recreated(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord
) -> None:
    settings = make_settings(sqlite_url, tmp_path, fake)
    assert await run_digest(settings, clock) == ["posted 8"]
    parent = "1300000000000000001"
    # as after a crash that lost the thread's id: only the parent message is known
    adapter = DiscordAdapter(settings.discord, TOKEN)
    channel = ChannelRef("discord", str(TEXT_ID))
    digest = Digest(1, channel, "News digest", datetime(2026, 11, 27, tzinfo=UTC), ())
    story = DigestStory(1, "Late story", None, "Wire", "A late summary.", (), ())
    try:
        posted = await adapter.post_story(channel, digest, PostedMessage(ref=parent), story, 9)
    finally:
        await adapter.stop()
    assert posted.thread_ref == parent
    refused = [c for c in fake.calls if c.path.endswith(f"/messages/{parent}/threads") and c.status == 400]
    assert len(refused) == 1  # Discord's 160004: the message already has its thread
    assert len(story_posts(fake, parent)) == 9


async def test_a_429_is_waited_out_and_the_story_posted_once(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord
) -> None:
    settings = make_settings(sqlite_url, tmp_path, fake)
    fake.rate_limit("POST", r"/channels/1300000000000000001/messages", retry_after=0.05, skip=1)
    assert await run_digest(settings, clock) == ["posted 8"]
    tries = [c for c in fake.calls if c.path == "/channels/1300000000000000001/messages"]
    assert [c.status for c in tries].count(429) == 1 and len(tries) == 9
    assert len(story_posts(fake, 1300000000000000001)) == 8


async def test_a_forum_channel_gets_one_forum_post_per_digest(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord
) -> None:
    settings = make_settings(sqlite_url, tmp_path, fake, channel=FORUM_ID, style="markdown")
    assert await run_digest(settings, clock) == ["posted 8"]
    forum_posts = fake.find("POST", rf"/channels/{FORUM_ID}/threads")
    assert len(forum_posts) == 1
    body = forum_posts[0].body
    assert body["name"] == "News digest · Fri 27 Nov 2026"
    assert body["message"]["allowed_mentions"] == NO_MENTIONS and "8 stories" in body["message"]["content"]
    assert not fake.find("POST", rf"/channels/{FORUM_ID}/messages")
    assert len(story_posts(fake, 1300000000000000001)) == 8


@pytest.mark.parametrize(
    ("channel", "expected"),
    [(1200000000000000099, "no longer exists"), (VOICE_ID, "digests need a text, announcement or forum channel")],
)
async def test_a_gone_or_wrong_channel_keeps_the_digest_pending_with_a_clear_message(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord, channel: int, expected: str
) -> None:
    settings = make_settings(sqlite_url, tmp_path, fake, channel=channel)
    outcomes = await run_digest(settings, clock)
    assert len(outcomes) == 1 and outcomes[0].startswith("failed 0") and expected in outcomes[0]
    assert posts(fake) == []
    app = App.open(settings, clock=clock)
    try:
        sub = app.store.subscription(settings.subscriptions[0].channel)
        assert sub is not None and len(app.store.pending_digests(sub.id)) == 1
    finally:
        await app.close()


async def test_a_refused_parent_posts_nothing_and_names_the_permissions(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(sqlite_url, tmp_path, fake)
    fake.fail("POST", rf"/channels/{TEXT_ID}/messages", times=1)
    outcomes = await run_digest(settings, clock)
    assert "lacks a permission to post the digest in channel" in outcomes[0]
    assert "50013" in outcomes[0]
    assert any("stays pending" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    clock.advance(hours=2)
    assert (await run_digest(settings, clock, poll=False))[0] == "resumed 8"


async def test_a_refused_token_is_reported_without_the_token(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail("GET", "/users/@me", status=401, code=0, message="401: Unauthorized", times=5)
    outcomes = await run_digest(make_settings(sqlite_url, tmp_path, fake), clock)
    assert "DISCORD_TOKEN" in outcomes[0] and "refused" in outcomes[0]
    assert TOKEN not in outcomes[0] and TOKEN not in caplog.text


async def test_a_missing_token_is_a_config_error_naming_the_key(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN")
    with pytest.raises(ConfigError) as err:
        App.open(make_settings(sqlite_url, tmp_path, fake), clock=clock)
    assert err.value.key == "discord.token_env" and "DISCORD_TOKEN" in str(err.value)


HOSTILE_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile Wire</title><link>https://hostile.example/</link>
<description>test</description>
<item><title>@everyone &lt;@123&gt; [click](https://evil) wins **the** vote</title>
<link>https://hostile.example/a</link><guid>hostile-1</guid><pubDate>Fri, 27 Nov 2026 06:00:00 GMT</pubDate>
<description>Residents of Alder Bay told @everyone and @here to read &lt;@123&gt; and &lt;@&amp;456&gt;,
then [click](https://evil) or [here](https://evil2) for the `details` of the ||secret|| plan.
The council of Alder Bay will meet again on Monday to discuss the plan.</description></item>
</channel></rss>
"""


@pytest.mark.parametrize("style", ["embeds", "markdown"])
async def test_hostile_feed_text_is_posted_as_inert_text_with_mentions_disabled(
    sqlite_url: str, tmp_path: Path, clock: FixedClock, fake: FakeDiscord, style: str
) -> None:
    feed = tmp_path / "hostile.xml"
    feed.write_text(HOSTILE_FEED, encoding="utf-8")
    settings = make_settings(sqlite_url, tmp_path, fake, style=style, feeds=[{"url": str(feed), "name": "@here News"}])
    assert await run_digest(settings, clock) == ["posted 1"]
    (story,) = story_posts(fake, 1300000000000000001)
    assert story["allowed_mentions"] == NO_MENTIONS
    if style == "embeds":
        embed = story["embeds"][0]
        text = "\n".join([embed["title"], embed["description"], embed["footer"]["text"]])
    else:
        text = story["content"]
    assert "@\u200beveryone" in text and "@\u200bhere" in text
    assert not re.search(r"@(everyone|here)", text)
    assert "<@123>" not in text and "<\u200b@123>" in text and "<\u200b@&456>" in text
    assert not re.search(r"(?<!\\)\[(click|here)\]", text)  # no live masked link
    assert "\\[click](https://evil)" in text
    assert "\\`details\\`" in text and "\\|\\|secret\\|\\|" in text
