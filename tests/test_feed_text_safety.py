"""A hostile feed of our own, posted through the real Slack and Discord clients to the local fakes.

Bidi overrides and isolates, zero-width joiners, every Slack and Discord formatting character,
mention and link syntaxes, and entity-encoded variants of them: what each platform receives is
asserted exactly, and it must show the publisher's text as written, with none of it live.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from slack_sdk.models.blocks import Block

from adapters.slack import SlackAdapter, SlackSecrets
from bot.config import Settings, settings_from_dict
from bot.text_safety import BIDI_CONTROLS, safe_line, safe_text
from tests.conftest import FixedClock, demo_config, poll_and_digest
from tests.discord_fake import TEXT_ID, FakeDiscord
from tests.slack_fake import FakeSlack, shown_text

# What the publisher wrote, with the invisible characters a feed can smuggle in: a right-to-left
# override (U+202E) and its pop, isolates (U+2066/2069), marks (U+200E/200F, U+061C) and a
# zero-width joiner inside "@everyone".
TITLE = (
    "\u202eRead\u202c this: *Bold* _it_ ~strike~ `code` ```fence``` > quote | pipe & <!channel> <@U123> "
    "<https://evil.example|click> **b** __u__ ~~s~~ ||spoiler|| # head [x](https://evil.example) "
    "@every\u200done @here \\ back"
)
BODY_LINES = (
    "\u2066Harbour Council\u2069 of Alder Bay met on Thursday with <@U0123ABC>, <#C999>, <!subteam^S1>, "
    "<!here> and @here watching, and wrote {ENCODED} twice.",
    "# Head -# small 1. first - dash > quote >>> block ```fence``` `tick` *star* _under_ ~tilde~ "
    "||spoil|| [masked](https://evil.example) <@123> <#456> <@&789> </cmd:1> <:e:1> <t:1700000000:R> "
    "\u200e\u200f\u061cend.",
)
# The same attacks written as character references in the HTML, which decode into the characters above.
ENCODED = (
    "&#x202E;&#60;!channel&#62; &#x3C;@U123&#x3E; &#42;star&#42; &#96;tick&#96; &#x5F;u&#x5F; &#124;&#124;s&#124;&#124;"
)
ENCODED_TEXT = "\u202e<!channel> <@U123> *star* `tick` _u_ ||s||"
SOURCE = "\u202e@here <!channel> *Wire*"


def feed_xml() -> str:
    body = "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in BODY_LINES).replace("{ENCODED}", ENCODED)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile Wire</title><link>https://hostile.example/</link>
<description>test</description>
<item><title>{html.escape(TITLE, quote=False)}</title><link>https://hostile.example/story?a=1&amp;b=2</link>
<guid>hostile-1</guid><pubDate>Fri, 27 Nov 2026 06:00:00 GMT</pubDate>
<description><![CDATA[{body}]]></description></item>
</channel></rss>
"""


# What every platform must show: the publisher's text, less only what renders as nothing.
SHOWN_TITLE = safe_line(TITLE)
SHOWN_BODY = safe_line(" ".join(BODY_LINES).replace("{ENCODED}", ENCODED_TEXT))
SHOWN_SOURCE = safe_line(SOURCE)


def test_the_expected_text_is_the_publishers_less_the_invisible_characters() -> None:
    # the test's own yardstick, spelled out: only bidi controls and the joiner go
    assert re.sub("[\u202e\u202c\u200d]", "", TITLE) == SHOWN_TITLE
    assert not BIDI_CONTROLS & set(SHOWN_TITLE + SHOWN_BODY + SHOWN_SOURCE)
    assert "@everyone" in SHOWN_TITLE and "\u200d" not in SHOWN_TITLE
    for ch in "*_~`>|&<#[]()\\@-":
        assert ch in SHOWN_TITLE + SHOWN_BODY, ch
    assert safe_text("a\u202e b\n\n\n\nc\u2028d") == "a b\n\nc\nd"


def settings_for(tmp_path: Path, feed: Path, **platform: Any) -> Settings:
    raw = demo_config(f"sqlite:///{tmp_path / 'newsbot.db'}")
    raw |= {
        "console": {"enabled": False},
        "feeds": [{"url": str(feed), "name": SOURCE}],
        "digest": {"summary_sentences": 3, "summary_chars": 1000},
    }
    raw |= platform
    return settings_from_dict(raw, tmp_path / "config.toml")


async def post_digest(settings: Settings, clock: FixedClock, adapters: dict[str, Any] | None = None) -> list[str]:
    return [f"{o.status} {o.stories}" for o in await poll_and_digest(settings, clock, adapters=adapters)]


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.xml"
    path.write_text(feed_xml(), encoding="utf-8")
    return path


# --- Slack ---------------------------------------------------------------------------------------


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.close()


async def test_slack_receives_the_hostile_feed_as_literal_rich_text(
    tmp_path: Path, feed: Path, slack: FakeSlack, clock: FixedClock
) -> None:
    settings = settings_for(
        tmp_path,
        feed,
        slack={"enabled": True, "mode": "http", "api_base_url": slack.base_url, "post_interval_seconds": 0},
        subscriptions=[{"channel": "slack:C0NEWS", "feeds": "all"}],
    )
    adapter = SlackAdapter(settings.slack, SlackSecrets(bot_token="xoxb-test", signing_secret="s"), retry_jitter=0)
    assert await post_digest(settings, clock, {"slack": adapter}) == ["posted 1"]
    _, story = slack.posted
    name = "Harbour Council of Alder Bay"
    assert SHOWN_BODY.startswith(name)
    # rich text: the publisher's characters exactly, bold and the link as structure, no mention elements
    assert story.blocks[0] == {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {
                        "type": "link",
                        "url": "https://hostile.example/story?a=1&b=2",
                        "text": f"1. {SHOWN_TITLE}",
                        "style": {"bold": True},
                    },
                    {"type": "text", "text": "\n"},
                    {"type": "text", "text": name, "style": {"bold": True}},
                    {"type": "text", "text": SHOWN_BODY[len(name) :]},
                ],
            }
        ],
    }
    assert story.blocks[1] == {
        "type": "context",
        "elements": [{"type": "plain_text", "text": f"{SHOWN_SOURCE} · 27 Nov 2026", "emoji": False}],
    }
    assert shown_text(story.blocks) == f"1. {SHOWN_TITLE}\n{SHOWN_BODY}\n{SHOWN_SOURCE} · 27 Nov 2026"
    # the notification fallback is mrkdwn: & < > escaped, nothing else touched, so no markup in it
    assert story.text == slack_escape(f"1. {SHOWN_TITLE} ({SHOWN_SOURCE})")
    assert story.text == (
        "1. Read this: *Bold* _it_ ~strike~ `code` ```fence``` &gt; quote | pipe &amp; &lt;!channel&gt; "
        "&lt;@U123&gt; &lt;https://evil.example|click&gt; **b** __u__ ~~s~~ ||spoiler|| # head "
        "[x](https://evil.example) @everyone @here \\ back (@here &lt;!channel&gt; *Wire*)"
    )
    for message in slack.posted:
        assert "<" not in message.text and ">" not in message.text
        assert not BIDI_CONTROLS & set(message.text + shown_text(message.blocks))
        for block in message.blocks:
            parsed = Block.parse(block)
            assert parsed is not None
            parsed.validate_json()


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- Discord -------------------------------------------------------------------------------------


@pytest.fixture
async def discord_fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setenv("DISCORD_TOKEN", "fake-bot-token")
    yield server
    await server.close()


@pytest.mark.parametrize("style", ["markdown", "embeds"])
async def test_discord_receives_the_hostile_feed_escaped_to_render_literally(
    tmp_path: Path, feed: Path, discord_fake: FakeDiscord, clock: FixedClock, style: str
) -> None:
    settings = settings_for(
        tmp_path,
        feed,
        discord={"enabled": True, "api_base_url": discord_fake.base_url, "style": style},
        subscriptions=[{"channel": f"discord:{TEXT_ID}", "feeds": "all"}],
    )
    assert await post_digest(settings, clock) == ["posted 1"]
    bodies = [
        c.body for c in discord_fake.calls if c.method == "POST" and re.fullmatch(r"/channels/\d+/messages", c.path)
    ]
    parent, story = bodies
    assert story["allowed_mentions"] == {"parse": []} and parent["allowed_mentions"] == {"parse": []}
    if style == "markdown":
        title, summary, credits = story["content"].split("\n")
        assert title == "**" + DISCORD_TITLE + "**"
        assert summary == DISCORD_SUMMARY
        assert credits == "-# @\u200bhere <!channel> \\*Wire\\* · <https://hostile.example/story?a=1&b=2>"
        shown = [
            (title[2:-2], SHOWN_TITLE, "1. "),
            (summary, SHOWN_BODY, ""),
            (credits[3:].split(" · <")[0], SHOWN_SOURCE, ""),
        ]
    else:
        (embed,) = story["embeds"]
        assert embed["title"] == DISCORD_TITLE
        assert embed["description"] == DISCORD_SUMMARY
        assert embed["footer"] == {"text": "@\u200bhere <!channel> *Wire*"}  # footers show no markdown
        assert embed["url"] == "https://hostile.example/story?a=1&b=2"
        shown = [(embed["title"], SHOWN_TITLE, "1. "), (embed["description"], SHOWN_BODY, "")]
    for sent, publisher, prefix in shown:
        # read the way Discord reads it: our own bold around key entities, then every character literal
        feed_part = sent.replace("**Harbour Council of Alder Bay**", "Harbour Council of Alder Bay")
        assert feed_part.startswith(prefix)  # our own numbering, the rest is the feed's
        assert live_markdown(feed_part[len(prefix) :]) == [], feed_part
        assert discord_reads(feed_part) == prefix + publisher


# The exact text Discord receives for the title and the summary (both styles).
DISCORD_TITLE = (
    "1. Read this: \\*Bold\\* \\_it\\_ \\~strike\\~ \\`code\\` \\`\\`\\`fence\\`\\`\\` > quote \\| pipe & "
    "<!channel> <\u200b@U123> \\<https://evil.example|click> \\*\\*b\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ "
    "\\|\\|spoiler\\|\\| # head \\[x](https://evil.example) @\u200beveryone @\u200bhere \\\\ back"
)
DISCORD_SUMMARY = (
    "**Harbour Council of Alder Bay** met on Thursday with <\u200b@U0123ABC>, <\u200b#C999>, <!subteam^S1>, "
    "<!here> and @\u200bhere watching, and wrote <!channel> <\u200b@U123> \\*star\\* \\`tick\\` \\_u\\_ "
    "\\|\\|s\\|\\| twice. # Head -# small 1. first - dash > quote >>> block \\`\\`\\`fence\\`\\`\\` \\`tick\\` "
    "\\*star\\* \\_under\\_ \\~tilde\\~ \\|\\|spoil\\|\\| \\[masked](https://evil.example) <\u200b@123> "
    "<\u200b#456> <\u200b@&789> <\u200b/cmd:1> <\u200b:e:1> <\u200bt:1700000000:R> end."
)


def live_markdown(text: str) -> list[str]:
    """Markdown Discord would act on: an unescaped formatting character, a mention, a masked link,
    an angle-bracket link, or a line opening with a header, quote, list or subtext marker."""
    found: list[str] = []
    # a bare URL is a link showing its own address, and Discord reads no markdown inside it
    text = re.sub(r"https?://[^\s<>]+", "URL", text)
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2  # Discord shows the next character as itself
            continue
        if text[i] in "*_~|`[":
            found.append(text[i : i + 10])
        i += 1
    found += re.findall(r"<[@#/:at]|@(?:everyone|here)|(?<!\\)<https?:", text)
    found += re.findall(r"(?m)^(?:#{1,3} |-# |> |>>> |- |\* |\d+\. )", text)
    return found


def discord_reads(text: str) -> str:
    """What a reader sees: backslash escapes undone, the zero-width breaks in mentions invisible."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", text).replace("\u200b", "")
