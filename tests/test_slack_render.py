"""Block Kit rendering without a server: literal rich text, links, bold entities, and Slack's size limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import Block

from adapters.slack.render import (
    SECTION_CHARS,
    escape,
    fit,
    link_element,
    notice_message,
    parent_message,
    reply_message,
    safe_url,
    story_message,
)
from bot.models import ChannelRef, Digest, DigestStory, Reply, SearchResult, Span
from tests.slack_fake import shown_text

EVIL = "<!channel> <!here> <!everyone> <@U123> <#C123> <!subteam^S1> <https://evil|click> & Co"


def story(**kw: object) -> DigestStory:
    base: dict[str, object] = {
        "story_id": 1,
        "title": "NATO and South Korea agree",
        "url": "https://news.example/a?x=1&y=2",
        "source": "Pacific Wire",
        "summary": "NATO met South Korea in Brussels.",
        "highlights": (Span(0, 4, "ORG"), Span(9, 20, "LOC")),
        "key_entities": ("NATO", "South Korea"),
    }
    return DigestStory(**(base | kw))  # type: ignore[arg-type]


def elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The rich text elements of a message, in order."""
    return [
        e
        for b in message["blocks"]
        if b["type"] == "rich_text"
        for section in b["elements"]
        for e in section["elements"]
    ]


def bold(message: dict[str, Any]) -> list[str]:
    return [e["text"] for e in elements(message) if e.get("style", {}).get("bold")]


def test_escape_does_ampersand_first() -> None:
    assert escape("a & <b> &lt;") == "a &amp; &lt;b&gt; &amp;lt;"


def test_every_block_is_valid_block_kit_for_slack_sdk() -> None:
    messages = [
        story_message(story(title=EVIL, summary=EVIL, source=EVIL, also_covered_by=(EVIL,), highlights=()), 1),
        parent_message(Digest(1, ChannelRef("slack", "C1"), EVIL, datetime(2026, 11, 27, tzinfo=UTC), ())),
        notice_message(EVIL),
        reply_message(Reply((EVIL,), results=(SearchResult(EVIL, EVIL, EVIL, "https://x.example/", None),))),
    ]
    for message in messages:
        for block in message["blocks"]:
            parsed = Block.parse(block)
            assert parsed is not None, block
            parsed.validate_json()  # slack_sdk's own checks of types and lengths
            assert parsed.to_dict() == block


def test_feed_text_is_literal_text_and_mentions_cannot_form() -> None:
    msg = story_message(story(title=EVIL, summary=EVIL, source=EVIL, also_covered_by=(EVIL,), highlights=()), 1)
    # rich text holds the publisher's characters as written; mentions would need their own element types
    assert {e["type"] for e in elements(msg)} <= {"text", "link"}
    assert shown_text(msg["blocks"]) == f"1. {EVIL}\n{EVIL}\n{EVIL} · also covered by {EVIL}"
    assert [e["url"] for e in elements(msg) if e["type"] == "link"] == ["https://news.example/a?x=1&y=2"]
    assert msg["blocks"][1]["elements"][0] == {
        "type": "plain_text",
        "text": f"{EVIL} · also covered by {EVIL}",
        "emoji": False,
    }
    # the fallback is mrkdwn: escaped, so nothing in it is markup
    assert not re.search(r"<[^>]*>", msg["text"]) and "&lt;!channel&gt;" in msg["text"]


def test_links_cannot_leave_their_element() -> None:
    assert safe_url("javascript:alert(1)") is None and safe_url("ftp://x") is None
    assert safe_url("https://x.example/a|b>c<d e") == "https://x.example/a%7Cb%3Ec%3Cd%20e"
    assert link_element("https://x.example/", "a|b <c>") == {
        "type": "link",
        "url": "https://x.example/",
        "text": "a|b <c>",
    }
    assert link_element(None, "plain <title>") == {"type": "text", "text": "plain <title>"}
    long = link_element("https://x.example/" + "a" * 2000, "t")
    assert long == {"type": "text", "text": "t"}


def test_key_entities_are_bold_and_feed_stars_stay_stars() -> None:
    msg = story_message(story(), 2)
    assert elements(msg)[0] == {
        "type": "link",
        "url": "https://news.example/a?x=1&y=2",
        "text": "2. NATO and South Korea agree",
        "style": {"bold": True},
    }
    assert bold(msg) == ["2. NATO and South Korea agree", "NATO", "South Korea"]
    assert shown_text(msg["blocks"][:1]) == "2. NATO and South Korea agree\nNATO met South Korea in Brussels."
    starred = story_message(story(title="*Big* | _news_ ~now~", summary="*NATO* x", highlights=(Span(1, 5, "ORG"),)), 1)
    assert shown_text(starred["blocks"][:1]) == "1. *Big* | _news_ ~now~\n*NATO* x"
    assert bold(starred)[1:] == ["NATO"]


def test_long_text_is_cut_within_3000_characters_without_splitting_an_entity() -> None:
    summary = "Fish & chips <3 " * 400
    msg = story_message(story(summary=summary, highlights=(Span(0, 4, "MISC"),)), 1)
    text = shown_text(msg["blocks"][:1])
    assert len(text) <= SECTION_CHARS and text.endswith("…") and text.count("&") > 100
    cut = fit([("x" * 5000, True)], 100)
    assert cut == [{"type": "text", "text": "…"}]  # an entity is dropped whole, never cut in half
    assert sum(len(e["text"]) for e in fit([("word " * 100, False)], 100)) <= 100


def test_parent_message_says_date_count_and_top_entities() -> None:
    digest = Digest(
        7,
        ChannelRef("slack", "C1"),
        "News digest",
        datetime(2026, 11, 27, 7, tzinfo=UTC),
        (story(), story(story_id=2)),
        top_entities=("NATO", "South Korea"),
        timezone="Europe/Brussels",
    )
    msg = parent_message(digest)
    assert msg["text"] == "News digest · Fri 27 Nov 2026 · 2 stories · NATO, South Korea"
    assert msg["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "News digest", "emoji": False}}
    assert shown_text(msg["blocks"][1:2]) == "Fri 27 Nov 2026 · 2 stories\nIn the news: NATO, South Korea"
    assert bold(msg) == ["Fri 27 Nov 2026", "NATO", "South Korea"]
    empty = parent_message(Digest(8, ChannelRef("slack", "C1"), "T" * 200, datetime(2026, 11, 27, tzinfo=UTC), ()))
    assert "no new stories" in empty["text"] and len(empty["blocks"][0]["text"]["text"]) == 150


def test_replies_are_literal_chunked_and_kept_under_50_blocks() -> None:
    usage = reply_message(Reply(("Give one URL.", "Usage: subscribe <feed or site URL>"), ok=False))
    assert shown_text(usage["blocks"]) == "⚠️ Give one URL.\nUsage: subscribe <feed or site URL>"
    assert usage["text"] == "⚠️ Give one URL.\nUsage: subscribe &lt;feed or site URL&gt;"
    huge = reply_message(Reply(tuple("x" * 2900 for _ in range(80))))
    assert len(huge["blocks"]) == 50 and all(len(shown_text([b])) <= SECTION_CHARS for b in huge["blocks"])
    found = reply_message(
        Reply(
            ("Top 1 for nato:",),
            results=(SearchResult("NATO <b>", "One line & more.", "Wire", "https://w.example/1", None),),
        )
    )
    assert shown_text(found["blocks"][1:]) == "NATO <b>\nOne line & more.\nWire"
    assert elements(found)[1] == {
        "type": "link",
        "url": "https://w.example/1",
        "text": "NATO <b>",
        "style": {"bold": True},
    }


def test_notices_are_literal_and_their_fallback_escaped() -> None:
    msg = notice_message("Feed <!channel> paused after 10 failures")
    assert msg["text"] == "Feed &lt;!channel&gt; paused after 10 failures"
    assert shown_text(msg["blocks"]) == "Feed <!channel> paused after 10 failures"


def test_huge_titles_and_urls_stay_within_a_block() -> None:
    for title, url in (
        ("T" * 3600, "https://x.example/a"),
        ("&" * 700, "https://x.example/a"),
        ("Short", "https://x.example/" + "a" * 3500),
    ):
        s = DigestStory(
            story_id=1, title=title, url=url, source="S", summary="Words. " * 600, highlights=(), key_entities=()
        )
        for block in story_message(s, 1)["blocks"]:
            assert 0 < len(shown_text([block])) <= SECTION_CHARS
