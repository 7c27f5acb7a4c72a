"""Slack posting end to end: the real App and AsyncWebClient against the loopback fake Slack.

Covers the seed digest's Block Kit (golden), threading, feed markup made inert, 429 retries,
platform errors that keep the digest pending, and resuming a thread after a crash.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import SlackAdapter, SlackSecrets
from adapters.slack.posting import Pacer
from bot.app import App, build_adapters
from bot.config import Settings, settings_from_dict
from bot.errors import ConfigError, PostError
from bot.models import ChannelRef
from tests.conftest import FixedClock, demo_config
from tests.slack_fake import FakeSlack, shown_text

GOLDEN = Path(__file__).parent / "data" / "slack" / "seed_digest_blocks.json"
EVIL = "<!channel> Big news <@U123> <https://evil|click> <#C999> <!here> <!everyone> <!subteam^S1>"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.close()


def slack_settings(tmp_path: Path, fake: FakeSlack, **slack: Any) -> Settings:
    raw = demo_config(f"sqlite:///{tmp_path / 'newsbot.db'}")
    raw["console"] = {"enabled": False}
    raw["slack"] = {"enabled": True, "mode": "http", "api_base_url": fake.base_url, "post_interval_seconds": 0} | slack
    raw["subscriptions"] = [{"channel": "slack:C0NEWS", "feeds": "all"}]
    return settings_from_dict(raw, tmp_path / "config.toml")


def adapter_for(settings: Settings, token: str = "xoxb-test") -> SlackAdapter:
    # retry_jitter=0: a 429 with Retry-After: 0 is retried at once, so tests never wait on it
    return SlackAdapter(settings.slack, SlackSecrets(bot_token=token, signing_secret="s"), retry_jitter=0.0)


async def digest(settings: Settings, adapter: SlackAdapter, clock: FixedClock) -> list[str]:
    app = App.open(settings, clock=clock, adapters={"slack": adapter})
    try:
        await app.poll()
        outcomes = await app.digest_all()
    finally:
        await app.close()
    return [f"{o.status} {o.stories} {o.message}".strip() for o in outcomes]


def texts(value: Any) -> list[str]:
    """Every "text" string anywhere in a message payload."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in ([v] if k == "text" and isinstance(v, str) else texts(v))]
    if isinstance(value, list):
        return [s for v in value for s in texts(v)]
    return []


async def test_seed_digest_posts_a_thread_whose_block_kit_matches_golden(
    tmp_path: Path, fake: FakeSlack, clock: FixedClock
) -> None:
    settings = slack_settings(tmp_path, fake)
    assert await digest(settings, adapter_for(settings), clock) == ["posted 8"]

    parent, *replies = fake.posted
    assert parent.thread_ts is None and parent.channel == "C0NEWS"
    assert [r.thread_ts for r in replies] == [parent.ts] * 8
    for call in fake.calls_to("chat.postMessage"):
        assert call.body["unfurl_links"] is False and call.body["unfurl_media"] is False
        assert call.token == "xoxb-test"
    for msg in fake.posted:
        assert 1 <= len(msg.blocks) <= 50 and msg.text
        assert all(len(t) <= 3000 for t in texts(msg.blocks))
    got = [{"thread": "reply" if m.thread_ts else "parent", "text": m.text, "blocks": m.blocks} for m in fake.posted]
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(GOLDEN.read_text(encoding="utf-8"))

    nato = [e for e in replies[0].blocks[0]["elements"][0]["elements"] if e.get("style", {}).get("bold")]
    for entity in ("South Korea", "Kim Kyung-hyup", "Stian Jenssen", "North Atlantic Treaty Organization"):
        assert entity in [e["text"] for e in nato]
    assert "also covered by Harbor Ledger" in replies[0].blocks[1]["elements"][0]["text"]

    clock.advance(minutes=5)
    [again] = await digest(settings, adapter_for(settings), clock)
    assert again.startswith("empty 0 nothing new since the last digest")
    assert len(fake.posted) == 9


async def test_feed_markup_posts_as_inert_text(tmp_path: Path, fake: FakeSlack, clock: FixedClock) -> None:
    escaped = EVIL.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    feed = tmp_path / "evil.xml"
    feed.write_text(
        f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Evil &amp; Co</title>
        <link>https://evil.example/</link><description>x</description>
        <item><title>{escaped}</title><link>https://evil.example/story?a=1&amp;b=2</link>
        <guid>evil-1</guid><pubDate>Thu, 26 Nov 2026 10:00:00 GMT</pubDate>
        <description><![CDATA[<p>{escaped} The council of Port Alder met on Thursday.</p>]]></description></item>
        </channel></rss>""",
        encoding="utf-8",
    )
    raw = demo_config(f"sqlite:///{tmp_path / 'newsbot.db'}")
    raw |= {"console": {"enabled": False}, "feeds": [{"url": str(feed), "name": "<!channel> Wire"}]}
    raw["slack"] = {"enabled": True, "mode": "http", "api_base_url": fake.base_url, "post_interval_seconds": 0}
    raw["subscriptions"] = [{"channel": "slack:C0NEWS", "feeds": "all"}]
    settings = settings_from_dict(raw, tmp_path / "config.toml")
    assert await digest(settings, adapter_for(settings), clock) == ["posted 1"]

    assert len(fake.posted) == 2
    # the fallbacks are mrkdwn: escaped, so the only markup would be ours (there is none)
    fallbacks = "\n".join(m.text for m in fake.posted)
    assert (
        "&lt;!channel&gt;" in fallbacks and "&lt;@U123&gt;" in fallbacks and "&lt;https://evil|click&gt;" in fallbacks
    )
    assert not re.findall(r"<[^>]*>", fallbacks)
    # the blocks are rich text and plain text: the feed's characters as written, no mention elements
    story = fake.posted[1]
    assert EVIL in shown_text(story.blocks) and "<!channel> Wire" in shown_text(story.blocks)
    kinds = {e["type"] for b in story.blocks for s in b["elements"] for e in s.get("elements", [s])}
    assert kinds <= {"text", "link", "plain_text"}
    links = [
        e["url"] for b in story.blocks for s in b["elements"] for e in s.get("elements", []) if e["type"] == "link"
    ]
    assert links == ["https://evil.example/story?a=1&b=2"]


async def test_a_429_delays_the_post_and_drops_nothing(tmp_path: Path, fake: FakeSlack, clock: FixedClock) -> None:
    fake.rate_limit_every = 3
    settings = slack_settings(tmp_path, fake)
    adapter = adapter_for(settings)
    assert await digest(settings, adapter, clock) == ["posted 8"]
    calls = fake.calls_to("chat.postMessage")
    assert [c.status for c in calls].count(429) == 4  # calls 3, 6, 9 and 12 of 13
    assert len(calls) == 13 and len(fake.posted) == 9
    titles = [m.text for m in fake.posted[1:]]
    assert [t.split(".", 1)[0] for t in titles] == [str(i) for i in range(1, 9)]  # in order, none twice


async def test_a_platform_error_keeps_the_digest_pending_and_the_next_run_continues_the_thread(
    tmp_path: Path, fake: FakeSlack, clock: FixedClock
) -> None:
    fake.fail_post = {4: "not_in_channel"}
    settings = slack_settings(tmp_path, fake)
    [outcome] = await digest(settings, adapter_for(settings), clock)
    assert outcome.startswith("failed 0 Slack refused to post story 3 in slack:C0NEWS: not_in_channel")
    assert "/invite @newsbot" in outcome and "stays pending" in outcome
    assert len(fake.posted) == 3

    clock.advance(minutes=1)  # the core waits a little before trying a refused digest again
    [busy, _] = await digest(settings, adapter_for(settings), clock)
    assert busy.startswith("busy") and len(fake.posted) == 3
    clock.advance(minutes=2)
    resumed, empty = await digest(settings, adapter_for(settings), clock)
    assert resumed == "resumed 6" and empty.startswith("empty 0 nothing new")
    parent = fake.posted[0]
    assert [m.thread_ts for m in fake.posted[1:]] == [parent.ts] * 8  # one thread, no second parent
    assert [m.text.split(".", 1)[0] for m in fake.posted[1:]] == [str(i) for i in range(1, 9)]


async def test_a_crash_mid_thread_resumes_with_the_missing_stories(
    tmp_path: Path, fake: FakeSlack, clock: FixedClock
) -> None:
    fake.hold_post = 5  # parent and three stories answered, the fourth post hangs: the process dies
    settings = slack_settings(tmp_path, fake)
    app = App.open(settings, clock=clock, adapters={"slack": adapter_for(settings)})
    await app.poll()
    run = asyncio.create_task(app.digest_all())
    await fake.wait_for("chat.postMessage", 5)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert len(fake.posted) == 4

    clock.advance(minutes=1)
    outcomes = await app.digest_all()
    await app.close()
    assert [(o.status, o.stories) for o in outcomes] == [("resumed", 5), ("empty", 0)]
    parent = fake.posted[0]
    assert len(fake.posted) == 9 and [m.thread_ts for m in fake.posted[1:]] == [parent.ts] * 8
    assert [m.text.split(".", 1)[0] for m in fake.posted[1:]] == [str(i) for i in range(1, 9)]


async def test_a_message_slack_refuses_for_its_content_is_skipped_and_the_rest_go_on(
    tmp_path: Path, fake: FakeSlack, clock: FixedClock
) -> None:
    fake.fail_post = {3: "msg_blocks_too_long"}  # story 2
    settings = slack_settings(tmp_path, fake)
    assert await digest(settings, adapter_for(settings), clock) == ["posted 7"]
    assert [m.text.split(".", 1)[0] for m in fake.posted[1:]] == ["1", "3", "4", "5", "6", "7", "8"]


async def test_a_rejected_token_is_a_clear_error_that_never_shows_the_token(
    tmp_path: Path, fake: FakeSlack, clock: FixedClock
) -> None:
    settings = slack_settings(tmp_path, fake)
    adapter = adapter_for(settings, token="xoxb-revoked-secret")
    with pytest.raises(PostError) as posting:
        await adapter.post_notice(ChannelRef("slack", "C0NEWS"), "hello")
    assert "invalid_auth" in str(posting.value) and "slack.bot_token_env" in str(posting.value)
    with pytest.raises(ConfigError) as starting:
        await adapter.start(lambda request: asyncio.sleep(0))  # type: ignore[arg-type,return-value]
    assert starting.value.key == "slack.bot_token_env" and "invalid_auth" in str(starting.value)
    for message in (str(posting.value), str(starting.value), repr(adapter._secrets)):
        assert "revoked-secret" not in message
    assert [o.split(" ")[0] for o in await digest(settings, adapter, clock)] == ["failed"]


def test_from_settings_reads_only_the_secrets_the_mode_needs(
    tmp_path: Path, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    socket = slack_settings(tmp_path, fake, mode="socket")
    with pytest.raises(ConfigError, match=r"^slack\.bot_token_env: environment variable SLACK_BOT_TOKEN"):
        SlackAdapter.from_settings(socket)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-token")
    with pytest.raises(ConfigError, match="starting with 'xoxb-'") as wrong:
        SlackAdapter.from_settings(socket)
    assert "not-a-token" not in str(wrong.value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    with pytest.raises(ConfigError, match=r"^slack\.app_token_env"):
        SlackAdapter.from_settings(socket)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-test")
    assert SlackAdapter.from_settings(socket).config.mode == "socket"  # no signing secret needed
    assert isinstance(build_adapters(socket)["slack"], SlackAdapter)  # the way bot.app builds it

    http = slack_settings(tmp_path, fake, mode="http")
    with pytest.raises(ConfigError, match=r"^slack\.signing_secret_env"):
        SlackAdapter.from_settings(http)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh")
    # empty, as an environment file's blank lines leave them: slack-bolt still switches to OAuth
    monkeypatch.setenv("SLACK_CLIENT_ID", "")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "")
    with pytest.raises(ConfigError, match=r"^slack\.oauth: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set"):
        SlackAdapter.from_settings(http)
    monkeypatch.setenv("SLACK_CLIENT_ID", "1.2")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "c")
    with pytest.raises(ConfigError, match=r"^slack\.oauth: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set"):
        SlackAdapter.from_settings(http)
    oauth = slack_settings(tmp_path, fake, mode="http", oauth=True)
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    assert SlackAdapter.from_settings(oauth).client.token is None  # tokens come from the installations


async def test_posts_to_one_channel_are_paced_and_other_channels_are_not_held_up() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        now[0] += seconds

    pacer = Pacer(1.0, monotonic=lambda: now[0], sleep=sleep)
    for channel in ("C1", "C1", "C2", "C1"):
        async with pacer.slot(channel):
            now[0] += 0.25  # the post itself
    assert slept == [1.0, 0.75]  # C1 waits a full second after each post; C2 went at once


def test_settings_replace_keeps_the_adapter_testable_on_port_zero(tmp_path: Path, fake: FakeSlack) -> None:
    settings = slack_settings(tmp_path, fake)
    adapter = SlackAdapter(
        replace(settings.slack, http_port=0), SlackSecrets(bot_token="xoxb-test", signing_secret="s")
    )
    assert adapter.config.http_port == 0 and adapter.client.base_url == fake.base_url
