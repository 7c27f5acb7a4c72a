"""The /news slash command through the real bolt AsyncApp: HTTP mode, Socket Mode and OAuth.

Requests are signed like Slack's and sent to the app listening on 127.0.0.1; answers arrive
at the fake's response_url, and every Web API call lands in the fake's record.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import sqlalchemy as sa
from slack_sdk.signature import SignatureVerifier

from adapters.slack import SlackAdapter, SlackSecrets
from adapters.slack.app import Managers, command_text
from bot.app import App
from bot.config import Settings, settings_from_dict
from bot.errors import PostError
from bot.models import ChannelRef, CommandRequest, Reply
from tests.conftest import EXAMPLE_FEEDS, FixedClock, demo_config
from tests.slack_fake import FakeSlack, shown_text, slash_form

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack(feeds={"lakeside.xml": EXAMPLE_FEEDS / "lakeside-courier.xml"}).start()
    yield server
    await server.close()


def settings_for(tmp_path: Path, fake: FakeSlack, **slack: Any) -> Settings:
    raw = demo_config(f"sqlite:///{tmp_path / 'newsbot.db'}")
    raw["console"] = {"enabled": False}
    raw["fetch"] = {"allow_private_networks": True}  # the fake serves the feed to subscribe to
    raw["slack"] = {
        "enabled": True,
        "mode": "http",
        "api_base_url": fake.base_url,
        "post_interval_seconds": 0,
        "managers": "everyone",
    } | slack
    feeds = [str(EXAMPLE_FEEDS / "pacific-wire.xml"), str(EXAMPLE_FEEDS / "harbor-ledger.xml")]
    raw["subscriptions"] = [{"channel": "slack:C0NEWS", "feeds": feeds}]
    return settings_from_dict(raw, tmp_path / "config.toml")


@pytest.fixture
async def running(tmp_path: Path, fake: FakeSlack, clock: FixedClock) -> AsyncIterator[tuple[App, SlackAdapter]]:
    settings = settings_for(tmp_path, fake)
    adapter = SlackAdapter(
        replace(settings.slack, http_host="127.0.0.1", http_port=0),
        SlackSecrets(bot_token="xoxb-test", signing_secret=SECRET),
        retry_jitter=0.0,
    )
    app = App.open(settings, clock=clock, adapters={"slack": adapter})
    await app.poll()
    await adapter.start(app.handle_command)
    yield app, adapter
    await app.close()


def signed(body: str, secret: str = SECRET, age: int = 0) -> dict[str, str]:
    ts = str(int(time.time()) - age)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
    }


async def post(adapter: SlackAdapter, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
        async with session.post(url, data=body.encode(), headers=headers) as response:
            return response.status, await response.text()


async def command(fake: FakeSlack, adapter: SlackAdapter, text: str, user: str = "U0USER") -> dict[str, Any]:
    """Send one signed slash command and return the ephemeral answer it gets."""
    name = f"r{len(fake.responses) + 1}"
    body = urlencode(slash_form(fake, text, user=user, name=name))
    status, content = await post(adapter, body, signed(body))
    assert (status, content) == (200, "")  # acknowledged with an empty body: nothing shown yet
    await fake.wait_until(lambda: any(n == name for n, _ in fake.responses))
    answer = next(b for n, b in fake.responses if n == name)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert isinstance(answer["text"], str) and answer["blocks"]
    return answer


def shown(answer: dict[str, Any]) -> str:
    return shown_text(answer["blocks"])


async def test_every_subcommand_works_through_a_signed_slash_command(
    running: tuple[App, SlackAdapter], fake: FakeSlack
) -> None:
    app, adapter = running
    feed_url = f"{fake.root}/feeds/lakeside.xml"
    answers = {}
    for text in (
        "help",
        f"subscribe <{feed_url}>",
        "list",
        'search "Port Alder"',
        "schedule 08:00 Europe/Brussels mon-fri",
        "follow Port Alder",
        "unfollow Port Alder",
        "settings stories 5",
        "digest now",
        f"unsubscribe <{feed_url}|{feed_url}>",
        "frobnicate",
    ):
        answers[text.split()[0]] = await command(fake, adapter, text)

    assert "subscribe <feed or site URL>" in shown(answers["help"])  # rich text: literal, not markup
    assert "Subscribed to Lakeside Courier" in shown(answers["subscribe"])
    assert "This channel follows 3 feeds" in shown(answers["list"])
    search = answers["search"]
    assert shown(search).startswith("Top ")
    links = [e for b in search["blocks"] for s in b.get("elements", []) for e in s.get("elements", [])]
    assert any(e["type"] == "link" and e["url"].startswith("https://pacificwire.example/weather/") for e in links)
    assert "Digest at 08:00 Europe/Brussels, mon, tue, wed, thu, fri." in shown(answers["schedule"])
    assert "Following Port Alder" in shown(answers["follow"])
    assert "No longer following Port Alder." in shown(answers["unfollow"])
    assert "Stories per digest: 5" in shown(answers["settings"])
    assert shown(answers["digest"]) == "Posted 5 stories."
    assert "Unsubscribed from Lakeside Courier" in shown(answers["unsubscribe"])
    assert shown(answers["frobnicate"]).startswith('⚠️ "frobnicate" is not a command')

    parent, *replies = fake.posted
    assert len(replies) == 5 and {r.thread_ts for r in replies} == {parent.ts}
    sub = app.store.subscription(ChannelRef("slack", "C0NEWS"))
    assert sub is not None and sub.schedule == ("08:00",) and sub.max_stories == 5


async def test_a_bad_or_stale_signature_gets_401_and_changes_nothing(
    running: tuple[App, SlackAdapter], fake: FakeSlack
) -> None:
    app, adapter = running
    before = len(fake.calls)
    body = urlencode(slash_form(fake, f"subscribe <{fake.root}/feeds/lakeside.xml>"))
    for headers in (
        signed(body, secret="not-the-secret"),
        signed(body, age=600),  # right secret, ten minutes old: a replay
        {"Content-Type": "application/x-www-form-urlencoded"},
    ):
        status, _ = await post(adapter, body, headers)
        assert status == 401
    tampered = signed(body)
    status, _ = await post(adapter, body.replace("subscribe", "unsubscribe"), tampered)
    assert status == 401
    assert len(fake.calls) == before and fake.responses == []  # not one Web API call

    # a good command afterwards is the first and only thing answered: nothing ran in between
    answer = await command(fake, adapter, "list")
    assert "This channel follows 2 feeds" in shown(answer)
    assert len(fake.responses) == 1
    sub = app.store.subscription(ChannelRef("slack", "C0NEWS"))
    assert sub is not None and len(app.store.subscribed_feed_ids(sub.id)) == 2


async def test_the_ack_goes_out_before_the_work(tmp_path: Path, fake: FakeSlack) -> None:
    settings = settings_for(tmp_path, fake)
    adapter = SlackAdapter(
        replace(settings.slack, http_host="127.0.0.1", http_port=0),
        SlackSecrets(bot_token="xoxb-test", signing_secret=SECRET),
    )
    release = asyncio.Event()
    seen: list[CommandRequest] = []

    async def slow(request: CommandRequest) -> Reply:
        seen.append(request)
        await release.wait()  # e.g. a digest being posted at one message per second
        return Reply(("done",))

    await adapter.start(slow)
    try:
        body = urlencode(slash_form(fake, "digest now <b>&amp;</b>"))
        assert await post(adapter, body, signed(body)) == (200, "")
        await fake.wait_until(lambda: bool(seen))
        assert fake.responses == []
        release.set()
        [(_, answer)] = await fake.wait_for_responses(1)
        assert shown(answer) == "done"
        assert seen[0] == CommandRequest(ChannelRef("slack", "C0NEWS"), "U0USER", "digest now <b>&</b>", True)
    finally:
        await adapter.stop()


async def test_only_managers_may_change_a_channel_and_admin_checks_are_cached(
    tmp_path: Path, fake: FakeSlack, clock: FixedClock
) -> None:
    fake.admins = {"U0ADMIN"}
    settings = settings_for(tmp_path, fake, managers="admins")
    adapter = SlackAdapter(
        replace(settings.slack, http_host="127.0.0.1", http_port=0),
        SlackSecrets(bot_token="xoxb-test", signing_secret=SECRET),
    )
    app = App.open(settings, clock=clock, adapters={"slack": adapter})
    await adapter.start(app.handle_command)
    try:
        for _ in range(2):
            refused = await command(fake, adapter, "follow Port Alder")
            assert "not allowed to change this channel's news (follow)" in shown(refused)
        assert "This channel follows 2 feeds" in shown(await command(fake, adapter, "list"))
        assert len(fake.calls_to("users.info")) == 1  # asked once, then remembered
        assert "Following Port Alder" in shown(await command(fake, adapter, "follow Port Alder", user="U0ADMIN"))
        assert [c.body["user"] for c in fake.calls_to("users.info")] == ["U0USER", "U0ADMIN"]
    finally:
        await app.close()


async def test_listed_managers_need_no_lookup_and_a_failed_lookup_means_no(fake: FakeSlack) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token="xoxb-test", base_url=fake.base_url)
    listed = Managers(("U0BOSS",))
    assert await listed.can_manage(client, "T0001", "U0BOSS") is True
    assert await listed.can_manage(client, "T0001", "U0USER") is False
    assert await Managers(("everyone",)).can_manage(client, "T0001", "U0USER") is True
    assert fake.calls_to("users.info") == []

    fake.admins = {"U0ADMIN"}
    fake.errors["users.info"] = ["missing_scope"]
    admins = Managers(("admins", "U0BOSS"))
    assert await admins.can_manage(client, "T0001", "U0ADMIN") is False  # users:read missing: refuse, say so
    assert await admins.can_manage(client, "T0001", "U0ADMIN") is True  # not cached: asked again
    assert await admins.can_manage(client, "T0001", "U0BOSS") is True


def test_slack_escaping_in_the_command_text_is_undone() -> None:
    assert command_text("search AT&amp;T &lt;b&gt; ") == "search AT&T <b>"
    assert command_text("search &amp;lt;") == "search &lt;"  # the ampersand goes last


async def test_socket_mode_connects_to_the_fake_and_answers_one_command(
    tmp_path: Path, fake: FakeSlack, clock: FixedClock
) -> None:
    settings = settings_for(tmp_path, fake, mode="socket")
    adapter = SlackAdapter(settings.slack, SlackSecrets(bot_token="xoxb-test", app_token=fake.app_token))
    app = App.open(settings, clock=clock, adapters={"slack": adapter})
    await adapter.start(app.handle_command)
    try:
        [opened] = fake.calls_to("apps.connections.open")
        assert opened.token == fake.app_token
        envelope = {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": slash_form(fake, "list"),
        }
        await fake.send_envelope(envelope)
        await fake.wait_until(lambda: any(m.get("envelope_id") == "env-1" for m in fake.ws_received))
        [(_, answer)] = await fake.wait_for_responses(1)
        assert answer["response_type"] == "ephemeral" and "This channel follows 2 feeds" in shown(answer)
    finally:
        await app.close()


async def test_bolt_does_not_warn_about_the_token_newsbot_gives_it(
    tmp_path: Path,
    fake: FakeSlack,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the README has users export SLACK_BOT_TOKEN, which bolt also reads by itself
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    settings = settings_for(tmp_path, fake, mode="socket")
    adapter = SlackAdapter(settings.slack, SlackSecrets(bot_token="xoxb-test", app_token=fake.app_token))
    app = App.open(settings, clock=clock, adapters={"slack": adapter})
    with caplog.at_level(logging.WARNING):
        await adapter.start(app.handle_command)
        await app.close()
    assert [r for r in caplog.records if r.name.startswith("slack")] == []


async def test_socket_mode_with_a_rejected_app_token_says_which_setting(tmp_path: Path, fake: FakeSlack) -> None:
    settings = settings_for(tmp_path, fake, mode="socket")
    adapter = SlackAdapter(settings.slack, SlackSecrets(bot_token="xoxb-test", app_token="xapp-1-wrong"))
    from bot.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        await adapter.start(lambda request: asyncio.sleep(0))  # type: ignore[arg-type,return-value]
    assert caught.value.key == "slack.app_token_env" and "xapp-1-wrong" not in str(caught.value)
    await adapter.stop()


async def test_oauth_install_stores_the_workspace_in_the_bots_database_and_uses_its_token(
    tmp_path: Path, fake: FakeSlack, clock: FixedClock
) -> None:
    pytest.importorskip("greenlet", reason="slack_sdk's SQLAlchemy stores need SQLAlchemy's asyncio extra (greenlet)")
    fake.admins = {"U0ADMIN"}
    settings = settings_for(tmp_path, fake, oauth=True, managers="admins")
    adapter = SlackAdapter(
        replace(settings.slack, http_host="127.0.0.1", http_port=0),
        SlackSecrets(signing_secret=SECRET, client_id="111.222", client_secret="oauth-secret"),
        database_url=settings.database_url,
    )
    app = App.open(settings, clock=clock, adapters={"slack": adapter})
    await adapter.start(app.handle_command)
    try:
        base = f"http://127.0.0.1:{adapter.http_port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/slack/install", allow_redirects=False) as page:
                assert page.status in (200, 302)
                cookie = page.headers["Set-Cookie"]
                state = re.search(r"slack-app-oauth-state=([^;]+)", cookie)
                assert state is not None
            async with session.get(
                f"{base}/slack/oauth_redirect?code=abc&state={state.group(1)}",
                headers={"Cookie": f"slack-app-oauth-state={state.group(1)}"},
            ) as done:
                assert done.status == 200, await done.text()
        assert [c.body.get("code") for c in fake.calls_to("oauth.v2.access")] == ["abc"]
        engine = sa.create_engine(settings.database_url)
        with engine.connect() as conn:
            teams = conn.execute(sa.text("select team_id, bot_token from slack_bots")).all()
        engine.dispose()
        assert teams == [("T0002", "xoxb-team-two")]

        # a command from the new workspace is answered with that workspace's token
        answer = await command_in_team(fake, adapter, "follow Port Alder", team="T0002", user="U0ADMIN")
        assert "Following Port Alder" in shown(answer)
        assert [c.token for c in fake.calls_to("users.info")] == ["xoxb-team-two"]
        assert app.store.subscription(ChannelRef("slack", "T0002/C0NEWS")) is not None

        await adapter.post_notice(ChannelRef("slack", "T0002/C0NEWS"), "hello")
        assert (fake.posted[-1].channel, fake.posted[-1].token) == ("C0NEWS", "xoxb-team-two")
        with pytest.raises(PostError, match="no_installation"):
            await adapter.post_notice(ChannelRef("slack", "T0009/C0NEWS"), "hello")
        with pytest.raises(PostError, match="slack:<team id>/<channel id>"):
            await adapter.post_notice(ChannelRef("slack", "C0NEWS"), "hello")
    finally:
        await app.close()


async def command_in_team(fake: FakeSlack, adapter: SlackAdapter, text: str, team: str, user: str) -> dict[str, Any]:
    name = f"t{len(fake.responses) + 1}"
    body = urlencode(slash_form(fake, text, user=user, team=team, name=name))
    assert await post(adapter, body, signed(body)) == (200, "")
    await fake.wait_until(lambda: any(n == name for n, _ in fake.responses))
    return next(b for n, b in fake.responses if n == name)


async def test_a_refused_digest_is_told_to_the_caller_and_the_manager_and_stays_pending(
    running: tuple[App, SlackAdapter], fake: FakeSlack, clock: FixedClock
) -> None:
    _, adapter = running
    await command(fake, adapter, "follow Port Alder", user="U0BOSS")  # the channel's manager, told of trouble
    fake.fail_post = {1: "not_in_channel", 3: "not_in_channel"}  # call 2 is the DM
    answer = await command(fake, adapter, "digest now")
    assert shown(answer).startswith("⚠️ Could not post the digest: Slack refused to post the digest in slack:C0NEWS")
    assert "/invite @newsbot" in shown(answer) and "stays pending" in shown(answer)
    [dm] = fake.posted
    assert dm.channel == "U0BOSS" and "not_in_channel" in dm.text and "Nothing is lost" in dm.text

    clock.advance(minutes=3)
    answer = await command(fake, adapter, "digest now")
    assert "Could not post the digest" in shown(answer) and len(fake.posted) == 1  # told once, not again

    clock.advance(minutes=3)
    answer = await command(fake, adapter, "digest now")
    assert shown(answer).startswith("Finished an earlier digest with")
    parent, *replies = fake.posted[1:]
    assert replies and {m.thread_ts for m in replies} == {parent.ts}


async def test_the_manager_told_of_trouble_is_remembered_across_a_restart(
    tmp_path: Path, fake: FakeSlack, clock: FixedClock
) -> None:
    settings = settings_for(tmp_path, fake)

    async def boot() -> tuple[App, SlackAdapter]:
        adapter = SlackAdapter(
            replace(settings.slack, http_host="127.0.0.1", http_port=0),
            SlackSecrets(bot_token="xoxb-test", signing_secret=SECRET),
            retry_jitter=0.0,
        )
        app = App.open(settings, clock=clock, adapters={"slack": adapter})
        await adapter.start(app.handle_command)
        return app, adapter

    app, adapter = await boot()
    await app.poll()
    await command(fake, adapter, "follow Port Alder", user="U0BOSS")
    await command(fake, adapter, "list", user="U0USER")  # looking changes nothing: still U0BOSS's channel
    await app.close()
    app, adapter = await boot()  # a new process: nothing in memory
    fake.fail_post = {1: "not_in_channel"}
    answer = await command(fake, adapter, "digest now", user="U0USER")
    assert "Could not post the digest" in shown(answer)
    [dm] = fake.posted
    assert dm.channel == "U0BOSS" and "not_in_channel" in dm.text
    await app.close()
