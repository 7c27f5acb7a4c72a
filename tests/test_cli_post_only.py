"""`newsbot` commands that only post need only posting's secrets, and every date printed is ISO 8601.

Run as a user runs them: the real CLI in a subprocess, Slack being the loopback fake.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FEEDS, ROOT
from tests.slack_fake import FakeSlack

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})")


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.close()


def write_config(folder: Path, fake: FakeSlack, mode: str, channel: str = "slack:C0NEWS") -> Path:
    feeds = "".join(
        f'[[feeds]]\nurl = "{EXAMPLE_FEEDS / name}"\n' for name in ("pacific-wire.xml", "harbor-ledger.xml")
    )
    path = folder / "config.toml"
    path.write_text(
        f"""[bot]
database = "sqlite:///{folder / "newsbot.db"}"
[console]
enabled = false
[slack]
enabled = true
mode = "{mode}"
api_base_url = "{fake.base_url}"
post_interval_seconds = 0
{feeds}
[[subscriptions]]
channel = "{channel}"
feeds = "all"
""",
        encoding="utf-8",
    )
    return path


async def newsbot(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    # asynchronous, so the fake Slack in this process keeps answering while the CLI runs
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return env | {"COLUMNS": "200"} | extra


@pytest.mark.parametrize(
    ("mode", "listening_secret"), [("socket", "SLACK_APP_TOKEN"), ("http", "SLACK_SIGNING_SECRET")]
)
async def test_digest_once_needs_only_the_bot_token(
    tmp_path: Path, fake: FakeSlack, mode: str, listening_secret: str
) -> None:
    config = str(write_config(tmp_path, fake, mode))
    env = clean_env(SLACK_BOT_TOKEN="xoxb-test")
    code, _, err = await newsbot("digest", "--once", "--config", config, env=env)
    assert code == 0, err
    assert "slack:C0NEWS: posted" in err and len(fake.posted) > 1
    assert not fake.calls_to("apps.connections.open")  # nothing listened
    # `run` serves the slash command, so there the listening secret is still required, by name
    code, _, err = await newsbot("run", "--config", config, env=env)
    assert code == 2 and listening_secret in err, err


async def test_every_date_the_cli_prints_is_iso_8601_with_a_zone(tmp_path: Path, fake: FakeSlack) -> None:
    config = str(write_config(tmp_path, fake, "http", channel="console:#news"))  # `cmd` speaks as the console
    env = clean_env(SLACK_BOT_TOKEN="xoxb-test")
    undated = tmp_path / "undated.xml"
    news = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    dates = {
        "About us": "Mon, 01 Jan 0001 00:00:00 +0000",  # what static-site generators write for undated pages
        "Launch": "Thu, 01 Jan 1970 00:00:00 +0000",
        "Soon": "Fri, 01 Jan 2100 00:00:00 +0000",
        "News": format_datetime(news.astimezone(timezone(timedelta(hours=1)))),
    }
    items = "".join(
        f"<item><title>{t}</title><link>https://s.example/{i}</link><pubDate>{d}</pubDate></item>"
        for i, (t, d) in enumerate(dates.items())
    )
    undated.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Static site</title>{items}</channel></rss>',
        encoding="utf-8",
    )
    code, out, err = await newsbot("inspect", "feed", str(undated), "--config", config, env=env)
    assert code == 0, err
    published = {row["title"]: row["published"] for row in map(json.loads, out.splitlines())}
    assert published == {"About us": None, "Launch": None, "Soon": None, "News": news.strftime("%Y-%m-%dT%H:%M:%SZ")}

    assert (await newsbot("poll", "--once", "--config", config, env=env))[0] == 0
    code, out, err = await newsbot("feeds", "list", "--config", config, env=env)
    assert code == 0, err
    checked = re.findall(r"checked ([^;\s]+)", out)
    assert checked and all(ISO.fullmatch(c) for c in checked), out
    code, out, err = await newsbot("cmd", "search NATO", "--config", config, env=env)
    dates = re.findall(r" · (\d[^ ]*)", out)
    assert code == 0 and dates and all(ISO.fullmatch(d) for d in dates), out
