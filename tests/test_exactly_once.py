"""Exactly once, checked against the platform: lost answers, dead workers, and two workers at once.

The real slack_sdk and discord.py clients against the loopback fakes: a post the platform stored
but whose answer was lost is found in the channel and recorded, never sent again; one that was not
stored is sent once more; one that cannot be checked stays pending with the reason. A claim held by
a process that is gone is taken over at once; a live holder's is not; two workers started on one
digest at the same instant post each story once (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import SlackAdapter, SlackSecrets
from bot import delivery
from bot.app import App
from bot.config import Settings, settings_from_dict
from bot.delivery import DigestOutcome, run_digest
from bot.digest import plan_digest
from bot.errors import PostError
from bot.models import ChannelRef, Digest, DigestStory, PostedMessage
from bot.scheduler import finish_pending
from bot.worker import HOST, _start_time, is_dead, new_owner
from tests.conftest import FixedClock, demo_config
from tests.discord_fake import FORUM_ID, TEXT_ID, FakeDiscord
from tests.fakes import FlakyAdapter
from tests.slack_fake import FakeSlack


@pytest.fixture(autouse=True)
def _look_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "LOOK_DELAY_SECONDS", 0.01)


def slack_settings(db_url: str, tmp_path: Path, fake: FakeSlack) -> Settings:
    raw = demo_config(db_url)
    raw["console"] = {"enabled": False}
    raw["slack"] = {"enabled": True, "mode": "http", "api_base_url": fake.base_url, "post_interval_seconds": 0}
    raw["subscriptions"] = [{"channel": "slack:C0NEWS", "feeds": "all"}]
    return settings_from_dict(raw, tmp_path / "config.toml")


def slack_adapter(settings: Settings) -> SlackAdapter:
    return SlackAdapter(settings.slack, SlackSecrets(bot_token="xoxb-test", signing_secret="s"), retry_jitter=0.0)


def discord_settings(db_url: str, tmp_path: Path, fake: FakeDiscord) -> Settings:
    raw = demo_config(
        db_url,
        console={"enabled": False},
        discord={"enabled": True, "api_base_url": fake.base_url, "style": "markdown"},
        subscriptions=[{"channel": f"discord:{TEXT_ID}", "feeds": "all"}],
    )
    return settings_from_dict(raw, tmp_path / "config.toml")


async def digest_once(
    settings: Settings, clock: FixedClock, adapters: dict[str, Any] | None = None, poll: bool = True
) -> list[DigestOutcome]:
    """One `newsbot digest --once`: a fresh App (so a restart), poll, post every channel, close."""
    app = App.open(settings, clock=clock, adapters=adapters)
    try:
        if poll:
            await app.poll()
        return await app.digest_all()
    finally:
        await app.close()


async def slack_digest(settings: Settings, clock: FixedClock, poll: bool = True) -> list[DigestOutcome]:
    return await digest_once(settings, clock, {"slack": slack_adapter(settings)}, poll)


def story_numbers(fake: FakeSlack) -> Counter[int]:
    return Counter(int(m.text.split(".", 1)[0]) for m in fake.posted if m.thread_ts is not None)


# --- lost answers -----------------------------------------------------------------------------


async def test_slack_a_stored_post_whose_answer_was_lost_is_found_not_sent_again(
    db_url: str, tmp_path: Path, slack: FakeSlack, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    slack.lose_answer = {3}  # story 2 is stored, then the connection drops
    outcomes = await slack_digest(slack_settings(db_url, tmp_path, slack), clock)
    assert [(o.status, o.stories) for o in outcomes] == [("posted", 8)]
    assert len(slack.calls_to("chat.postMessage")) == 9  # no resend, not by slack_sdk and not by us
    assert story_numbers(slack) == Counter(range(1, 9))
    replies = slack.calls_to("conversations.replies")
    assert len(replies) == 1 and replies[0].body.get("include_all_metadata") in (True, "true", "1")
    assert "the answer to posting story 2 was lost" in caplog.text and "posted after all" in caplog.text


async def test_slack_a_lost_parent_is_found_in_the_channel_and_reused(
    db_url: str, tmp_path: Path, slack: FakeSlack, clock: FixedClock
) -> None:
    slack.lose_answer = {1}
    outcomes = await slack_digest(slack_settings(db_url, tmp_path, slack), clock)
    assert [(o.status, o.stories) for o in outcomes] == [("posted", 8)]
    parents = [m for m in slack.posted if m.thread_ts is None]
    assert len(parents) == 1 and {m.thread_ts for m in slack.posted[1:]} == {parents[0].ts}
    assert len(slack.calls_to("conversations.history")) == 1


async def test_slack_a_post_dropped_before_slack_stored_it_is_sent_once_more(
    db_url: str, tmp_path: Path, slack: FakeSlack, clock: FixedClock
) -> None:
    slack.on_post = lambda n, phase: n == 4 and phase == "received"  # the connection drops on the way in
    outcomes = await slack_digest(slack_settings(db_url, tmp_path, slack), clock)
    assert [(o.status, o.stories) for o in outcomes] == [("posted", 8)]
    assert len(slack.calls_to("chat.postMessage")) == 10  # looked, not there, sent again
    assert story_numbers(slack) == Counter(range(1, 9))


async def test_slack_a_post_that_cannot_be_checked_stays_pending_and_is_never_resent_blindly(
    db_url: str, tmp_path: Path, slack: FakeSlack, clock: FixedClock
) -> None:
    settings = slack_settings(db_url, tmp_path, slack)
    slack.lose_answer = {3}
    slack.errors["conversations.replies"] = ["internal_error"]
    [outcome] = await slack_digest(settings, clock)
    assert outcome.status == "failed"
    assert "could not check what the channel already shows" in outcome.message and "stays pending" in outcome.message
    assert len(slack.calls_to("chat.postMessage")) == 3  # parent, 1, 2: nothing after the doubt
    app = App.open(settings, clock=clock, adapters={})
    row = app.store.digest(2)
    assert (
        row is not None and row.status == "pending" and row.in_doubt == 2 and "internal_error" in (row.last_error or "")
    )
    await app.close()

    clock.advance(minutes=3)  # past the retry time: Slack answers the look now
    resumed, _ = await slack_digest(settings, clock, poll=False)
    assert (resumed.status, resumed.stories) == ("resumed", 6)
    assert story_numbers(slack) == Counter(range(1, 9))


async def test_slack_internal_error_on_a_post_counts_as_a_lost_answer(
    db_url: str, tmp_path: Path, slack: FakeSlack, clock: FixedClock
) -> None:
    slack.fail_post = {3: "internal_error"}  # Slack says part of the call may have been carried out
    outcomes = await slack_digest(slack_settings(db_url, tmp_path, slack), clock)
    assert [(o.status, o.stories) for o in outcomes] == [("posted", 8)]
    assert len(slack.calls_to("conversations.replies")) == 1  # looked before sending story 2 again
    assert len(slack.calls_to("chat.postMessage")) == 10 and story_numbers(slack) == Counter(range(1, 9))


async def test_slack_a_refusal_after_a_lost_answer_keeps_the_position_in_doubt(
    db_url: str, tmp_path: Path, slack: FakeSlack, clock: FixedClock
) -> None:
    settings = slack_settings(db_url, tmp_path, slack)
    slack.on_post = lambda n, phase: n == 3 and phase == "received"  # story 2: the answer is lost
    slack.fail_post = {4: "not_in_channel"}  # the second try is refused: the first may still land later
    [outcome] = await slack_digest(settings, clock)
    assert outcome.status == "failed" and "not_in_channel" in outcome.message
    app = App.open(settings, clock=clock, adapters={})
    row = app.store.digest(2)
    await app.close()
    assert row is not None and row.in_doubt == 2  # the next run looks before it posts story 2
    clock.advance(minutes=3)
    resumed, _ = await slack_digest(settings, clock, poll=False)
    assert resumed.status == "resumed" and story_numbers(slack) == Counter(range(1, 9))
    assert len(slack.calls_to("conversations.replies")) == 2


async def test_slack_history_longer_than_it_reads_is_cannot_tell_not_absent(
    tmp_path: Path, slack: FakeSlack, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.slack import adapter as slack_module
    from tests.slack_fake import Posted

    monkeypatch.setattr(slack_module, "PAGE", 2)
    monkeypatch.setattr(slack_module, "HISTORY_PAGES", 2)
    for i in range(5):  # members talked since the digest was planned
        slack.posted.append(Posted("C0NEWS", f"{clock.now().timestamp() + i:.6f}", None, f"chat {i}", [], None))
    settings = slack_settings(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, slack)
    digest = Digest(7, ChannelRef("slack", "C0NEWS"), "News", clock.now(), (), created_at=clock.now())
    with pytest.raises(PostError) as caught:
        await slack_adapter(settings).find_posted(digest.channel, digest, None)
    assert caught.value.unknown and "cannot tell" in str(caught.value)


async def test_discord_without_read_message_history_a_lost_answer_waits_instead_of_reposting(
    db_url: str, tmp_path: Path, dfake: FakeDiscord, clock: FixedClock
) -> None:
    settings = discord_settings(db_url, tmp_path, dfake)

    def hide_threads(call: Any, phase: str) -> bool:
        if phase == "received" and call.path != f"/channels/{TEXT_ID}/messages":
            dfake.no_history.add(int(call.path.split("/")[2]))  # the thread: its history reads as empty
        return False

    dfake.on_post = hide_threads
    dfake.lose("POST", r"/channels/\d+/messages", skip=3)  # story 3 is stored, its answer lost
    [outcome, *_] = await digest_once(settings, clock)
    assert outcome.status == "failed" and "Read Message History" in outcome.message
    [parent] = dfake.messages_in(TEXT_ID)
    thread = int(parent["id"])
    assert len(dfake.messages_in(thread)) == 3  # story 3 once: not sent again blindly

    dfake.no_history.clear()  # the permission is granted
    dfake.on_post = None
    clock.advance(minutes=3)
    [resumed, *_] = await digest_once(settings, clock, poll=False)
    assert resumed.status == "resumed" and resumed.stories == 5
    assert len(dfake.messages_in(thread)) == 8


async def test_discord_a_stored_story_whose_answer_was_lost_is_found_in_the_thread(
    db_url: str, tmp_path: Path, dfake: FakeDiscord, clock: FixedClock
) -> None:
    dfake.lose("POST", r"/channels/\d+/messages", skip=3)  # parent, stories 1 and 2 answered; 3 lost
    outcomes = await digest_once(discord_settings(db_url, tmp_path, dfake), clock)
    assert [(o.status, o.stories) for o in outcomes] == [("posted", 8), ("empty", 0)] or [
        (o.status, o.stories) for o in outcomes
    ] == [("posted", 8)]
    [parent] = dfake.messages_in(TEXT_ID)
    stories = dfake.messages_in(int(parent["id"]))
    assert len(stories) == 8 and len({s["content"].split("\n")[0] for s in stories}) == 8
    assert len(dfake.find("GET", rf"/channels/{parent['id']}/messages")) == 1


async def test_discord_a_lost_parent_is_found_by_its_heading_and_its_thread_made_once(
    db_url: str, tmp_path: Path, dfake: FakeDiscord, clock: FixedClock
) -> None:
    dfake.lose("POST", rf"/channels/{TEXT_ID}/messages")
    outcomes = await digest_once(discord_settings(db_url, tmp_path, dfake), clock)
    assert outcomes[0].status == "posted" and outcomes[0].stories == 8
    [parent] = dfake.messages_in(TEXT_ID)  # never a second parent
    assert len(dfake.messages_in(int(parent["id"]))) == 8


async def test_discord_a_lost_forum_post_is_found_among_active_threads(
    db_url: str, tmp_path: Path, dfake: FakeDiscord, clock: FixedClock
) -> None:
    dfake.lose("POST", rf"/channels/{FORUM_ID}/threads")  # the forum post is made, its answer lost
    dfake.lose("POST", r"/channels/\d+/messages", skip=2)  # and story 3's
    raw = demo_config(
        db_url,
        console={"enabled": False},
        discord={"enabled": True, "api_base_url": dfake.base_url, "style": "markdown"},
        subscriptions=[{"channel": f"discord:{FORUM_ID}", "feeds": "all"}],
    )
    outcomes = await digest_once(settings_from_dict(raw, tmp_path / "config.toml"), clock)
    assert outcomes[0].status == "posted" and outcomes[0].stories == 8
    [post] = [c for c in dfake.channels.values() if c.get("parent_id") == str(FORUM_ID)]  # one forum post
    stories = dfake.messages_in(int(post["id"]))
    assert len(stories) == 1 + 8  # its starter message, then each story once
    assert dfake.find("GET", r"/guilds/\d+/threads/active")


# --- dead and live workers --------------------------------------------------------------------


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def owner_of(pid: int) -> str:
    return f"{HOST}:{pid}:{_start_time(pid) or '-'}:deadbeef"


def dead_owner() -> str:
    """The owner id of a process of this host that has run and exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = owner_of(proc.pid)
    proc.wait()
    return owner


def test_a_worker_is_dead_only_when_its_process_is_gone(sleeper: subprocess.Popen[bytes]) -> None:
    alive = owner_of(sleeper.pid)
    assert not is_dead(alive)
    assert not is_dead(new_owner())  # this process
    assert not is_dead(alive.replace(HOST, "elsewhere", 1))  # another host: trusted until its lease ends
    start = _start_time(sleeper.pid)
    assert start is not None
    assert is_dead(alive.replace(f":{start}:", ":1:"))  # the pid now belongs to another process
    sleeper.kill()
    sleeper.wait()
    assert is_dead(alive)


def test_a_killed_but_unreaped_worker_is_dead() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    owner = owner_of(proc.pid)
    proc.kill()
    try:
        for _ in range(200):  # until the kernel has made it a zombie (nobody reaps it yet)
            if is_dead(owner):
                break
            threading.Event().wait(0.01)
        assert is_dead(owner)
    finally:
        proc.wait()


def _claimed_digest(app: App, clock: FixedClock, owner: str) -> int:
    [sub] = app.store.subscriptions()
    digest_id = plan_digest(app.store, sub, app.settings.digest, clock.now(), clock.now())
    assert digest_id is not None
    assert app.store.claim_digest(digest_id, owner, clock.now(), clock.now() + delivery.LEASE)
    return digest_id


@pytest.fixture
async def console_app(db_url: str, tmp_path: Path, clock: FixedClock) -> AsyncIterator[tuple[App, FlakyAdapter]]:
    settings = settings_from_dict(demo_config(db_url), tmp_path / "config.toml")
    adapter = FlakyAdapter()
    app = App.open(settings, clock=clock, adapters={"console": adapter})
    await app.poll()
    yield app, adapter
    await app.close()


async def test_a_dead_workers_claim_is_taken_over_at_once(
    console_app: tuple[App, FlakyAdapter], clock: FixedClock
) -> None:
    app, adapter = console_app
    digest_id = _claimed_digest(app, clock, dead_owner())
    [sub] = app.store.subscriptions()
    # the lease has 30 s left, but its holder is gone: no waiting
    outcomes = await run_digest(app.storage, app.adapters, sub, app.settings.digest, clock)
    assert outcomes[0].status == "resumed" and outcomes[0].stories == 8
    row = app.store.digest(digest_id)
    assert row is not None and row.status == "posted"
    assert adapter.sent[0] == "parent:8"


async def test_a_live_workers_claim_is_respected_and_named(
    console_app: tuple[App, FlakyAdapter], clock: FixedClock, sleeper: subprocess.Popen[bytes]
) -> None:
    app, adapter = console_app
    _claimed_digest(app, clock, owner_of(sleeper.pid))
    [sub] = app.store.subscriptions()
    outcomes = await run_digest(app.storage, app.adapters, sub, app.settings.digest, clock)
    assert outcomes[0].status == "busy" and f"{HOST}:{sleeper.pid}" in outcomes[0].message
    assert adapter.sent == []
    assert await finish_pending(app) == 0  # the minute job leaves it too
    clock.advance(seconds=31)  # the live holder stopped renewing (a hung process): its lease runs out
    assert await finish_pending(app) == 1 and adapter.sent[0] == "parent:8"


async def test_the_minute_job_finishes_a_digest_whose_holder_died(
    console_app: tuple[App, FlakyAdapter], clock: FixedClock
) -> None:
    app, adapter = console_app
    _claimed_digest(app, clock, dead_owner())
    assert await finish_pending(app) == 1 and len(adapter.sent) == 9


def test_two_runs_taking_over_one_dead_claim_cannot_both_win(db_url: str, tmp_path: Path, clock: FixedClock) -> None:
    settings = settings_from_dict(demo_config(db_url), tmp_path / "config.toml")
    app = App.open(settings, clock=clock, adapters={"console": FlakyAdapter()})
    try:
        asyncio.run(app.poll())
        digest_id = _claimed_digest(app, clock, "gone")
        now, until = clock.now(), clock.now() + delivery.LEASE
        assert not app.store.claim_digest(digest_id, "a", now, until)  # its lease has not run out
        assert app.store.claim_digest(digest_id, "a", now, until, take_from="gone")
        assert not app.store.claim_digest(digest_id, "b", now, until, take_from="gone")  # a took it first
    finally:
        asyncio.run(app.close())


async def test_the_heartbeat_keeps_the_claim_through_a_long_wait(
    console_app: tuple[App, FlakyAdapter], clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = console_app
    monkeypatch.setattr(delivery, "HEARTBEAT_SECONDS", 0.02)
    held: list[bool] = []

    class SlowStory(FlakyAdapter):
        async def post_story(
            self, channel: ChannelRef, digest: Digest, parent: PostedMessage, story: DigestStory, position: int
        ) -> PostedMessage:
            if position == 2:  # a long rate-limit wait: more than a lease passes during this one post
                clock.advance(seconds=45)
                await asyncio.sleep(0.2)
                held.append(app.store.claim_digest(digest.digest_id, "other", clock.now(), clock.now()))
            return await super().post_story(channel, digest, parent, story, position)

    app.adapters["console"] = SlowStory()
    [sub] = app.store.subscriptions()
    outcomes = await run_digest(app.storage, app.adapters, sub, app.settings.digest, clock)
    assert held == [False]  # renewed meanwhile: nobody else could take it
    assert outcomes[0].status == "posted" and outcomes[0].stories == 8


# --- two workers at the same instant ---------------------------------------------------------


@pytest.mark.parametrize("rep", range(10))
async def test_two_workers_started_on_one_digest_at_the_same_instant_post_each_story_once(
    db_url: str, tmp_path: Path, slack: FakeSlack, clock: FixedClock, rep: int
) -> None:
    settings = slack_settings(db_url, tmp_path, slack)
    first = App.open(settings, clock=clock, adapters={"slack": slack_adapter(settings)})
    await first.poll()  # migrated, synced and polled before the workers start: they only post
    await first.close()
    barrier = threading.Barrier(2)
    results: list[list[DigestOutcome]] = []

    def worker() -> None:
        async def work() -> list[DigestOutcome]:
            app = App.open(settings, clock=clock, adapters={"slack": slack_adapter(settings)})
            try:
                await asyncio.to_thread(barrier.wait, 10)
                return await app.digest_all()
            finally:
                await app.close()

        results.append(asyncio.run(work()))

    await asyncio.gather(asyncio.to_thread(worker), asyncio.to_thread(worker))
    assert len(results) == 2
    posted = [o for r in results for o in r if o.status in ("posted", "resumed")]
    assert sum(o.stories for o in posted) == 8, results
    parents = [m for m in slack.posted if m.thread_ts is None]
    assert len(parents) == 1
    assert story_numbers(slack) == Counter(range(1, 9))
