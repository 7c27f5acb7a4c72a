"""SIGTERM mid-digest: the message in flight is finished and recorded, no other is started, the
claim is given back, and the next run carries the digest on at once (no lease to wait out).

A real `newsbot` subprocess posts a ten-story digest to the fake Slack; the signal is sent while
the fake is receiving one of the posts.
"""

from __future__ import annotations

import signal
import socket
import sqlite3
from collections import Counter
from pathlib import Path

from tests.crash_sweep import Newsbot, config_text, now_utc, write_feed
from tests.slack_fake import FakeSlack


def _setup(tmp_path: Path, slack: FakeSlack) -> Newsbot:
    feed = write_feed(tmp_path / "ten.xml", now_utc())
    with socket.socket() as s:  # `run` in HTTP mode listens for Slack events: on a free loopback port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = config_text(tmp_path / "newsbot.db", feed, "slack", "C0NEWS", slack.base_url)
    text = text.replace('mode = "http"\n', f'mode = "http"\nhttp_host = "127.0.0.1"\nhttp_port = {port}\n')
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    return Newsbot(config)


def _terminate_at(bot: Newsbot, slack: FakeSlack, post: int) -> None:
    def on_post(n: int, at: str) -> bool:
        if n == post and at == "received" and bot.proc is not None:
            bot.proc.send_signal(signal.SIGTERM)  # while this post is in flight
        return False

    slack.on_post = on_post


def _claim(db: Path) -> tuple[str | None, str | None]:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT claimed_by, claimed_until FROM digests").fetchone()
    return row[0], row[1]


def _assert_each_story_once(slack: FakeSlack) -> None:
    parents = [m for m in slack.posted if m.thread_ts is None]
    assert len(parents) == 1
    numbers = Counter(int(m.text.split(".", 1)[0]) for m in slack.posted if m.thread_ts is not None)
    assert numbers == Counter(range(1, 11)), numbers


async def test_digest_once_finishes_the_post_in_flight_and_gives_its_claim_back(
    tmp_path: Path, slack: FakeSlack
) -> None:
    bot = _setup(tmp_path, slack)
    _terminate_at(bot, slack, post=4)  # the parent, stories 1 and 2 are posted; story 3 is in flight
    first = await bot.run("digest", "--once")
    assert first.code == 128 + signal.SIGTERM, first.stderr
    assert "stopped by SIGTERM" in first.stderr and "Traceback" not in first.stderr
    assert len(slack.posted) == 4  # the one in flight was finished, no later one was started
    assert _claim(tmp_path / "newsbot.db") == (None, None)  # given back, with no retry wait
    slack.on_post = None
    again = await bot.run("digest", "--once", "--no-poll")
    assert again.code == 0, again.stderr
    assert "resumed 7 stories" in again.stderr and "busy" not in again.stderr, again.stderr
    _assert_each_story_once(slack)


async def test_run_finishes_the_post_in_flight_and_stops_cleanly(tmp_path: Path, slack: FakeSlack) -> None:
    bot = _setup(tmp_path, slack)
    _terminate_at(bot, slack, post=2)
    first = await bot.run("digest", "--once")  # leaves the digest pending after story 1
    assert first.code == 128 + signal.SIGTERM and len(slack.posted) == 2
    # `run` picks the pending digest up at start (finish_pending); stop it again mid-way
    _terminate_at(bot, slack, post=6)
    stopped = await bot.run("run")
    assert stopped.code == 0, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert len(slack.posted) == 6
    assert _claim(tmp_path / "newsbot.db") == (None, None)
    slack.on_post = None
    again = await bot.run("digest", "--once", "--no-poll")
    assert again.code == 0 and "resumed 5 stories" in again.stderr, again.stderr  # stories 6-10
    _assert_each_story_once(slack)
