"""Follow-ups of developing stories, end to end with an injected clock and the real platform clients.

A story is posted at 08:00 by one outlet; by 14:00 three more outlets carry it with new facts. The
next digest lists it under "Developing" with only what is new, and the story's original thread gets
exactly one reply, recorded like every digest message (a lost answer or a crash mid follow-up is
looked for, never resent). The same wire text re-sent by more outlets says nothing; `settings updates
off` stops both the reply and the Developing line. Slack through slack_sdk, Discord through discord.py,
each against its loopback fake.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.console import ConsoleAdapter
from adapters.discord import render as discord_render
from adapters.slack import SlackAdapter, SlackSecrets
from adapters.slack import render as slack_render
from bot import delivery
from bot.app import App
from bot.config import Settings, settings_from_dict
from bot.digest import plan_digest
from bot.followups import detect
from bot.models import ChannelRef, CommandRequest, Digest, DigestUpdate, PostedMessage
from bot.store.rows import StoredArticle
from tests import followup_feeds as ff
from tests.conftest import FixedClock
from tests.discord_fake import GUILD_ID, TEXT_ID, FakeDiscord
from tests.slack_fake import FakeSlack, shown_text

MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
NEW_SENTENCES = (
    "Nordic Star lost engine power",
    "stay shut for at least 6 weeks",
    "Fourteen crew members were treated",
)
OLD_SENTENCES = ("Traffic between the north shore", "Engineers from the port authority began")


@pytest.fixture(autouse=True)
def _look_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "LOOK_DELAY_SECONDS", 0.01)


@pytest.fixture
def morning() -> FixedClock:
    return FixedClock(MORNING)


def config(db_url: str, root: Path, platform: dict[str, Any], channel: str, **digest: Any) -> Settings:
    raw: dict[str, Any] = {
        "bot": {"database": db_url, "timezone": "UTC"},
        "console": {"enabled": False},
        "fetch": {"allow_local_files": True},
        "feeds": ff.feed_config(root),
        "subscriptions": [{"channel": channel, "feeds": "all"}],
        **platform,
    }
    if digest:
        raw["digest"] = digest
    return settings_from_dict(raw, root / "config.toml")


def slack_config(db_url: str, root: Path, fake: FakeSlack, **digest: Any) -> Settings:
    platform = {"slack": {"enabled": True, "mode": "http", "api_base_url": fake.base_url, "post_interval_seconds": 0}}
    return config(db_url, root, platform, "slack:C0NEWS", **digest)


def discord_config(db_url: str, root: Path, fake: FakeDiscord) -> Settings:
    platform = {"discord": {"enabled": True, "api_base_url": fake.base_url, "style": "markdown"}}
    return config(db_url, root, platform, f"discord:{TEXT_ID}")


def slack_app(settings: Settings, clock: FixedClock) -> App:
    adapter = SlackAdapter(settings.slack, SlackSecrets(bot_token="xoxb-test", signing_secret="s"), retry_jitter=0.0)
    return App.open(settings, clock=clock, adapters={"slack": adapter})


async def poll_and_digest(app: App) -> list[delivery.DigestOutcome]:
    await app.poll()
    return await app.digest_all()


async def told_in_the_morning(app: App, root: Path, clock: FixedClock, *, copies: bool = False) -> None:
    """08:00: the story is posted; by 14:00 three more outlets carry it (new facts, or the same wire text)."""
    ff.write_first(root, clock.now())
    [first] = await poll_and_digest(app)
    assert (first.status, first.stories) == ("posted", 1)
    clock.advance(hours=6)
    ff.write_later(root, clock.now(), copies=copies)


# --- Slack ------------------------------------------------------------------------------------


def slack_updates(fake: FakeSlack) -> list[Any]:
    return [m for m in fake.posted if m.thread_ts is not None and m.text.startswith("Update")]


async def test_slack_a_developing_story_gets_one_reply_in_its_thread_and_a_developing_line(
    sqlite_url: str, tmp_path: Path, slack: FakeSlack, morning: FixedClock
) -> None:
    app = slack_app(slack_config(sqlite_url, tmp_path, slack), morning)
    try:
        await told_in_the_morning(app, tmp_path, morning)
        [outcome] = await poll_and_digest(app)
        assert (outcome.status, outcome.stories, outcome.updates) == ("posted", 0, 1)
        morning.advance(hours=1)
        assert [o.status for o in await poll_and_digest(app)] == ["empty"]  # told once, not again
    finally:
        await app.close()
    first_parent, story = slack.posted[0], slack.posted[1]
    [update] = slack_updates(slack)
    assert update.thread_ts == first_parent.ts  # in the story's own thread
    second_parent = slack.posted[-2] if slack.posted[-1] is update else slack.posted[-1]
    assert second_parent.thread_ts is None and second_parent is not first_parent
    text = shown_text(update.blocks)
    assert "3 more outlets: Harbor Ledger, Lakeside Courier, Metro Times" in text
    assert sum(s in text for s in NEW_SENTENCES) == 2  # one or two new sentences
    assert not any(s in text for s in OLD_SENTENCES)  # never what was posted
    meta = update.metadata["event_payload"]
    assert meta["digest"] == second_parent.metadata["event_payload"]["digest"] and meta["position"] == 1
    # the new digest's parent: a Developing section with what is new and a link to the earlier thread
    headers = [b["text"]["text"] for b in second_parent.blocks if b["type"] == "header"]
    assert headers[-1] == "Developing"
    developing = json.dumps(second_parent.blocks[-1], ensure_ascii=False)  # its text and its link
    assert "Harbor Point bridge closed after cargo ship strikes support" in developing
    assert "Nordic Star" in developing and "Traffic" not in developing
    assert f"archives/C0NEWS/p{story.ts.replace('.', '')}" in developing
    [permalink] = slack.calls_to("chat.getPermalink")
    assert permalink.body["message_ts"] == story.ts


async def test_slack_the_same_wire_text_from_more_outlets_says_nothing(
    sqlite_url: str, tmp_path: Path, slack: FakeSlack, morning: FixedClock
) -> None:
    app = slack_app(slack_config(sqlite_url, tmp_path, slack), morning)
    try:
        await told_in_the_morning(app, tmp_path, morning, copies=True)
        assert [o.status for o in await poll_and_digest(app)] == ["empty"]
    finally:
        await app.close()
    assert len(slack.posted) == 2 and not slack_updates(slack)


async def test_slack_a_lost_answer_to_the_update_is_found_in_the_story_thread_not_resent(
    sqlite_url: str, tmp_path: Path, slack: FakeSlack, morning: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    slack.lose_answer = {4}  # 08:00 parent and story; then the new parent; the update is stored, its answer lost
    app = slack_app(slack_config(sqlite_url, tmp_path, slack), morning)
    try:
        await told_in_the_morning(app, tmp_path, morning)
        [outcome] = await poll_and_digest(app)
    finally:
        await app.close()
    assert outcome.status == "posted"
    assert len(slack_updates(slack)) == 1 and len(slack.calls_to("chat.postMessage")) == 4
    replies = [c.body.get("ts") for c in slack.calls_to("conversations.replies")]
    assert slack.posted[0].ts in replies  # looked for in the story's earlier thread
    assert "posted after all" in caplog.text


async def die_mid_follow_up(app: App, root: Path, clock: FixedClock, arm: Callable[[Callable[[], None]], None]) -> None:
    """The morning's story is told; then the process dies (its digest task cancelled) where the fake's hook,
    installed by `arm(die)`, calls `die()`: after the platform stored the update, before it heard back."""
    task: asyncio.Task[Any] | None = None

    def die() -> None:
        assert task is not None
        task.cancel()

    try:
        await told_in_the_morning(app, root, clock)
        await app.poll()
        arm(die)
        task = asyncio.create_task(app.digest_all())
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await app.close()


async def restart_and_digest(app: App) -> list[delivery.DigestOutcome]:
    try:
        return await app.digest_all()
    finally:
        await app.close()


async def test_slack_a_crash_mid_follow_up_resumes_without_repeats(
    sqlite_url: str, tmp_path: Path, slack: FakeSlack, morning: FixedClock
) -> None:
    settings = slack_config(sqlite_url, tmp_path, slack)

    def arm(die: Callable[[], None]) -> None:
        slack.on_post = lambda n, phase: n == 4 and phase == "stored" and (die() or True)

    await die_mid_follow_up(slack_app(settings, morning), tmp_path, morning, arm)
    slack.on_post = None
    assert len(slack_updates(slack)) == 1
    morning.advance(minutes=5)
    again = slack_app(settings, morning)
    outcomes = await restart_and_digest(again)
    assert "resumed" in [o.status for o in outcomes]
    assert len(slack_updates(slack)) == 1  # found in the thread and recorded, not posted again
    assert len([m for m in slack.posted if m.thread_ts is None]) == 2  # nor the parent
    assert again.store.pending_digests(1) == []


async def test_settings_updates_off_stops_the_reply_and_the_developing_line(
    sqlite_url: str, tmp_path: Path, slack: FakeSlack, morning: FixedClock
) -> None:
    app = slack_app(slack_config(sqlite_url, tmp_path, slack), morning)
    channel = ChannelRef("slack", "C0NEWS")
    try:
        await told_in_the_morning(app, tmp_path, morning)
        reply = await app.handle_command(CommandRequest(channel, "U1", "settings updates off", can_manage=True))
        assert reply.ok and "Updates of developing stories: off" in reply.lines
        assert [o.status for o in await poll_and_digest(app)] == ["empty"]
        reply = await app.handle_command(CommandRequest(channel, "U1", "settings updates on", can_manage=False))
        assert not reply.ok  # changing it needs the right to manage the channel's news
    finally:
        await app.close()
    assert len(slack.posted) == 2 and not slack_updates(slack)
    assert not any(b.get("type") == "header" and b["text"]["text"] == "Developing" for b in slack.posted[-1].blocks)


async def test_the_config_default_digest_updates_false_stops_follow_ups(
    sqlite_url: str, tmp_path: Path, slack: FakeSlack, morning: FixedClock
) -> None:
    app = slack_app(slack_config(sqlite_url, tmp_path, slack, updates=False), morning)
    try:
        await told_in_the_morning(app, tmp_path, morning)
        assert [o.status for o in await poll_and_digest(app)] == ["empty"]
    finally:
        await app.close()
    assert not slack_updates(slack)


# --- Discord ----------------------------------------------------------------------------------


def discord_updates(fake: FakeDiscord, thread_id: int) -> list[dict[str, Any]]:
    return [m for m in fake.messages_in(thread_id) if m["content"].startswith("**Update · ")]


async def test_discord_a_developing_story_gets_one_reply_in_its_thread_and_a_jump_link(
    sqlite_url: str, tmp_path: Path, dfake: FakeDiscord, morning: FixedClock
) -> None:
    app = App.open(discord_config(sqlite_url, tmp_path, dfake), clock=morning)
    try:
        await told_in_the_morning(app, tmp_path, morning)
        [outcome] = await poll_and_digest(app)
        assert (outcome.status, outcome.stories, outcome.updates) == ("posted", 0, 1)
        morning.advance(hours=1)
        assert [o.status for o in await poll_and_digest(app)] == ["empty"]
    finally:
        await app.close()
    first_parent, second_parent = dfake.messages_in(TEXT_ID)
    thread_id = int(first_parent["id"])  # a message's thread has the message's id
    story = dfake.messages_in(thread_id)[0]
    [update] = discord_updates(dfake, thread_id)
    assert update["message_reference"]["message_id"] == story["id"]  # a reply to the story
    assert "3 more outlets: Harbor Ledger, Lakeside Courier, Metro Times" in update["content"]
    assert sum(s in update["content"] for s in NEW_SENTENCES) == 2
    assert not any(s in update["content"] for s in OLD_SENTENCES)
    assert "**Developing**" in second_parent["content"] and "Nordic Star" in second_parent["content"]
    assert f"https://discord.com/channels/{GUILD_ID}/{thread_id}/{story['id']}" in second_parent["content"]
    sent = [c for c in dfake.find("POST", rf"/channels/{thread_id}/messages") if "Update" in str(c.body)]
    assert sent[0].body["nonce"].endswith(".1")  # the new digest's key and the update's position


async def test_two_digests_planned_at_the_same_moment_carry_one_follow_up(
    db_url: str, tmp_path: Path, slack: FakeSlack, morning: FixedClock
) -> None:
    app = slack_app(slack_config(db_url, tmp_path, slack), morning)
    try:
        await told_in_the_morning(app, tmp_path, morning)
        await app.poll()
        [sub] = app.store.subscriptions()
        first = plan_digest(app.store, sub, app.settings.digest, morning.now(), morning.now(), kind="manual")
        assert first is not None
        planned = app.store.digest(first)
        assert planned is not None and len(planned.updates) == 1
        # a second planner (another process) worked out the same follow-up before the first committed
        same = [(u.story_id, u.detail) for u in planned.updates]
        later = morning.now() + timedelta(seconds=1)
        second = app.store.create_digest(sub.id, later, "News", [], later, updates=same)
        row = app.store.digest(second) if second is not None else None
        assert row is not None and row.updates == () and row.status == "empty"  # told by the first only
    finally:
        await app.close()


async def test_discord_an_update_into_a_deleted_thread_is_skipped_and_never_blocks_the_channel(
    sqlite_url: str, tmp_path: Path, dfake: FakeDiscord, morning: FixedClock
) -> None:
    app = App.open(discord_config(sqlite_url, tmp_path, dfake), clock=morning)
    try:
        await told_in_the_morning(app, tmp_path, morning)
        thread_id = int(dfake.messages_in(TEXT_ID)[0]["id"])
        del dfake.channels[thread_id]  # someone deleted the morning digest's thread
        [outcome] = await poll_and_digest(app)
        # posted: the update was skipped for good, the Developing line still tells it, nothing waits behind it
        assert outcome.status == "posted", outcome.message
        assert await poll_and_digest(app) and not app.store.pending_digests(outcome_sub(app))
    finally:
        await app.close()
    second_parent = dfake.messages_in(TEXT_ID)[-1]
    assert "**Developing**" in second_parent["content"]


def outcome_sub(app: App) -> int:
    [sub] = app.store.subscriptions()
    return sub.id


async def test_slack_an_update_into_a_deleted_thread_is_skipped(
    sqlite_url: str, tmp_path: Path, slack: FakeSlack, morning: FixedClock
) -> None:
    app = slack_app(slack_config(sqlite_url, tmp_path, slack), morning)
    try:
        await told_in_the_morning(app, tmp_path, morning)
        slack.fail_post = {len(slack.calls_to("chat.postMessage")) + 2: "thread_not_found"}  # parent, then the update
        [outcome] = await poll_and_digest(app)
        assert outcome.status == "posted", outcome.message
        assert not app.store.pending_digests(outcome_sub(app))
    finally:
        await app.close()


async def test_discord_a_lost_answer_to_the_update_is_found_not_resent(
    sqlite_url: str, tmp_path: Path, dfake: FakeDiscord, morning: FixedClock
) -> None:
    app = App.open(discord_config(sqlite_url, tmp_path, dfake), clock=morning)
    try:
        await told_in_the_morning(app, tmp_path, morning)
        first_parent = dfake.messages_in(TEXT_ID)[0]
        # the update is the first post in the story's thread since: it is stored, its answer lost
        dfake.lose("POST", rf"/channels/{first_parent['id']}/messages")
        [outcome] = await poll_and_digest(app)
    finally:
        await app.close()
    assert outcome.status == "posted"
    thread_id = int(first_parent["id"])
    assert len(discord_updates(dfake, thread_id)) == 1
    assert len(dfake.find("POST", rf"/channels/{thread_id}/messages")) == 2  # the story, the update once
    assert dfake.find("GET", rf"/channels/{thread_id}/messages")  # looked for in the story's thread


async def test_discord_a_crash_mid_follow_up_resumes_without_repeats(
    sqlite_url: str, tmp_path: Path, dfake: FakeDiscord, morning: FixedClock
) -> None:
    settings = discord_config(sqlite_url, tmp_path, dfake)

    def arm(die: Callable[[], None]) -> None:
        dfake.on_post = lambda call, phase: phase == "stored" and "Update" in str(call.body) and (die() or True)

    await die_mid_follow_up(App.open(settings, clock=morning), tmp_path, morning, arm)
    dfake.on_post = None
    thread_id = int(dfake.messages_in(TEXT_ID)[0]["id"])
    assert len(discord_updates(dfake, thread_id)) == 1
    morning.advance(minutes=5)
    again = App.open(settings, clock=morning)
    outcomes = await restart_and_digest(again)
    assert "resumed" in [o.status for o in outcomes]
    assert len(discord_updates(dfake, thread_id)) == 1  # found in the story's thread, not posted again
    assert len(dfake.messages_in(TEXT_ID)) == 2  # one parent per digest
    assert again.store.pending_digests(1) == []


# --- detection, pure ----------------------------------------------------------------------------


def article(aid: int, source: str, title: str, summary: list[str], seen: datetime, **kw: Any) -> StoredArticle:
    entities = [{"text": t, "label": "MISC", "salience": 1.0} for t in kw.pop("entities", [])]
    return StoredArticle(aid, aid, source, title, None, " ".join(summary), seen, seen, summary, entities, 1, **kw)


def test_a_new_sentence_without_new_facts_is_told_only_for_a_followed_topic_or_many_outlets() -> None:
    told = [article(1, "A", "Harbor Point bridge closed", ["The Harbor Point bridge was closed on Tuesday."], MORNING)]
    later = MORNING + timedelta(hours=6)
    new = [article(2, "B", "Bridge shut", ["Commuters faced long queues at the tunnel all afternoon."], later)]
    assert detect(1, told, new) is None  # a new sentence, but no new name or number, one outlet
    followed = detect(1, told, new, follows=["tunnel"])
    assert followed is not None and followed.sentences == ("Commuters faced long queues at the tunnel all afternoon.",)
    more = [replace(new[0], id=i, source=s) for i, s in enumerate("BCD", 2)]
    assert detect(1, told, more) is not None  # the jump in outlets


def test_a_near_copy_with_a_changed_word_stays_quiet_and_a_repeat_of_an_earlier_update_too() -> None:
    lead = "The Harbor Point bridge was closed on Tuesday after a cargo ship struck one of its supports."
    told = [article(1, "A", "Harbor Point bridge closed", [lead], MORNING, entities=["Harbor Point"])]
    later = MORNING + timedelta(hours=6)
    copy = lead.replace("Tuesday", "Tuesday morning").replace("struck", "hit")
    assert detect(1, told, [article(2, "B", "Bridge closed", [copy], later)]) is None
    fact = "Coast Guard commander Maria Alvarez said the Nordic Star lost power."
    new = [article(3, "C", "Ship lost power", [fact], later, entities=["Maria Alvarez", "Nordic Star"])]
    update = detect(1, told, new)
    assert update is not None and update.facts == ("Maria Alvarez", "Nordic Star") and update.outlets == ("C",)
    assert detect(1, told, new, earlier=[fact]) is None  # already said in an earlier follow-up


# --- console and rendering ----------------------------------------------------------------------


async def test_the_console_shows_the_developing_section_and_the_reply(sqlite_url: str, tmp_path: Path) -> None:
    clock = FixedClock(MORNING)
    raw: dict[str, Any] = {
        "bot": {"database": sqlite_url, "timezone": "UTC"},
        "console": {"color": "never"},
        "fetch": {"allow_local_files": True},
        "feeds": ff.feed_config(tmp_path),
        "subscriptions": [{"channel": "console:#news", "feeds": "all"}],
    }
    out = io.StringIO()
    app = App.open(
        settings_from_dict(raw, tmp_path / "config.toml"),
        clock=clock,
        adapters={"console": ConsoleAdapter(out, "never")},
    )
    try:
        await told_in_the_morning(app, tmp_path, clock)
        start = len(out.getvalue())
        [outcome] = await poll_and_digest(app)
    finally:
        await app.close()
    assert outcome.updates == 1
    later = out.getvalue()[start:]
    assert "Developing\n· **Harbor Point bridge closed after cargo ship strikes support** · New: " in later
    assert "Update · 3 more outlets: Harbor Ledger, Lakeside Courier, Metro Times" in later
    assert sum(s in later for s in NEW_SENTENCES) == 2 and not any(s in later for s in OLD_SENTENCES)
    assert "no new stories, 1 developing" in later and "since the last digest" not in later  # updates only


async def test_reports_from_feeds_the_channel_does_not_follow_are_not_its_follow_ups(
    db_url: str, tmp_path: Path
) -> None:
    clock = FixedClock(MORNING)
    first, second = (str(p) for p in ff.feed_paths(tmp_path)[:2])
    raw: dict[str, Any] = {
        "bot": {"database": db_url, "timezone": "UTC"},
        "console": {"color": "never"},
        "fetch": {"allow_local_files": True},
        "feeds": ff.feed_config(tmp_path),
        "subscriptions": [
            {"channel": "console:#news", "feeds": [first, second]},
            {"channel": "console:#all", "feeds": "all"},
        ],
    }
    out = io.StringIO()
    adapter = ConsoleAdapter(out, "never")
    app = App.open(settings_from_dict(raw, tmp_path / "config.toml"), clock=clock, adapters={"console": adapter})
    try:
        ff.write_first(tmp_path, clock.now())
        await poll_and_digest(app)
        clock.advance(hours=6)
        ff.write_later(tmp_path, clock.now())
        start = len(out.getvalue())
        outcomes = await poll_and_digest(app)
    finally:
        await app.close()
    assert [o.updates for o in outcomes] == [1, 1]
    later = out.getvalue()[start:]
    assert "Update · 1 more outlet: Harbor Ledger" in later  # #news follows only Pacific Wire and Harbor Ledger
    assert "Update · 3 more outlets: Harbor Ledger, Lakeside Courier, Metro Times" in later  # #all follows every feed


def hostile_update() -> DigestUpdate:
    return DigestUpdate(
        story_id=1,
        position=2,
        title="<!channel> @everyone *bold* [x](https://evil.example)",
        url=None,
        sentences=("Ping <@U123> and <!here> @here now.",),
        facts=("<!channel>",),
        outlets=("<@U1> Wire",),
        reply_to=PostedMessage("1700000000.000100", "1700000000.000100"),
        sources=(("<@U1> Wire", "javascript:alert(1)"),),
    )


def test_feed_text_in_a_follow_up_cannot_ping_or_break_out_on_slack() -> None:
    update = hostile_update()
    message = slack_render.update_message(update)
    # rich text: the feed's "<!channel>" is literal text, mentions would need elements of their own
    assert rich_elements(message["blocks"]) <= {"text", "link"}
    assert "javascript:" not in json.dumps(message) and "<" not in message["text"]
    assert "Ping <@U123> and <!here> @here now." in shown_text(message["blocks"])
    digest = Digest(1, ChannelRef("slack", "C1"), "News", MORNING, (), updates=(update,))
    parent = slack_render.with_developing(slack_render.parent_message(digest), digest, {2: "https://x.slack.test/p1"})
    assert rich_elements(parent["blocks"]) <= {"text", "link"} and "<!channel>" not in parent["text"]
    links = [e for b in parent["blocks"] if b["type"] == "rich_text" for e in b["elements"][0]["elements"]]
    assert {"type": "link", "url": "https://x.slack.test/p1", "text": "earlier thread"} in links


def rich_elements(blocks: list[dict[str, Any]]) -> set[str]:
    """The element types inside a message's rich text blocks."""
    return {e["type"] for b in blocks if b["type"] == "rich_text" for s in b["elements"] for e in s["elements"]}


def test_feed_text_in_a_follow_up_cannot_ping_or_break_out_on_discord() -> None:
    update = hostile_update()
    text = discord_render.update_text(update)
    assert text.startswith(discord_render.UPDATE_MARK)
    assert "@everyone" not in text and "@here" not in text and "<@U" not in text and "](" not in text
    assert "javascript:" not in text
    digest = Digest(1, ChannelRef("discord", "1"), "News", MORNING, (), updates=(update,))
    section = discord_render.developing_text(digest, {2: "https://discord.com/channels/1/2/3"})
    assert "@everyone" not in section and "<https://discord.com/channels/1/2/3>" in section


async def test_a_report_a_followed_feed_carries_counts_whichever_feed_fetched_it_first(
    db_url: str, tmp_path: Path
) -> None:
    """#mirror follows Pacific Wire and a mirror of Harbor Ledger at another address: Harbor Ledger
    (which #all follows) stores the later report first, the mirror only carries it, and it is still
    #mirror's follow-up."""
    clock = FixedClock(MORNING)
    paths = ff.feed_paths(tmp_path)
    mirror = tmp_path / "mirror" / paths[1].name
    mirror.parent.mkdir()
    raw: dict[str, Any] = {
        "bot": {"database": db_url, "timezone": "UTC"},
        "console": {"color": "never"},
        "fetch": {"allow_local_files": True},
        "feeds": ff.feed_config(tmp_path),
        "subscriptions": [
            {"channel": "console:#all", "feeds": "all"},
            {"channel": "console:#mirror", "feeds": [str(paths[0]), str(mirror)]},
        ],
    }
    out = io.StringIO()
    ff.write_first(tmp_path, clock.now())
    mirror.write_text(paths[1].read_text())
    app = App.open(
        settings_from_dict(raw, tmp_path / "config.toml"),
        clock=clock,
        adapters={"console": ConsoleAdapter(out, "never")},
    )
    try:
        await poll_and_digest(app)
        clock.advance(hours=6)
        ff.write_later(tmp_path, clock.now())
        mirror.write_text(paths[1].read_text())
        start = len(out.getvalue())
        outcomes = await poll_and_digest(app)
    finally:
        await app.close()
    assert [o.updates for o in outcomes] == [1, 1]
    later = out.getvalue()[start:]
    assert "Update · 1 more outlet: Harbor Ledger" in later  # #mirror, through the mirror's link
    assert "Update · 3 more outlets: Harbor Ledger, Lakeside Courier, Metro Times" in later
