"""Block Kit rendering without a server: escaping, links, bold entities, and Slack's size limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from adapters.slack.render import (
    escape,
    fit,
    link,
    notice_message,
    parent_message,
    reply_message,
    safe_url,
    story_message,
)
from bot.models import ChannelRef, Digest, DigestStory, Reply, SearchResult, Span

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


def markup(text: str) -> list[str]:
    return re.findall(r"<[^>]*>", text)


def test_escape_does_ampersand_first() -> None:
    assert escape("a & <b> &lt;") == "a &amp; &lt;b&gt; &amp;lt;"


def test_every_mention_and_link_from_a_feed_is_inert() -> None:
    msg = story_message(story(title=EVIL, summary=EVIL, source=EVIL, also_covered_by=(EVIL,), highlights=()), 1)
    for text in [msg["text"], msg["blocks"][0]["text"]["text"], msg["blocks"][1]["elements"][0]["text"]]:
        assert markup(text) in ([], ["<https://news.example/a?x=1&y=2|1. " + escape(EVIL).replace("|", "¦") + ">"])
        assert "&lt;!channel&gt;" in text and "&lt;@U123&gt;" in text
    parent = parent_message(
        Digest(1, ChannelRef("slack", "C1"), EVIL, datetime(2026, 11, 27, tzinfo=UTC), (), top_entities=(EVIL,))
    )
    assert not markup(parent["text"]) and not markup(parent["blocks"][1]["text"]["text"])
    assert all(b["text"]["verbatim"] for b in msg["blocks"] if b["type"] == "section")


def test_links_cannot_break_out_of_their_markup() -> None:
    assert safe_url("javascript:alert(1)") is None and safe_url("ftp://x") is None
    assert safe_url("https://x.example/a|b>c<d e") == "https://x.example/a%7Cb%3Ec%3Cd%20e"
    assert link("https://x.example/", "a|b <c>") == "<https://x.example/|a¦b &lt;c&gt;>"
    assert link(None, "plain <title>") == "plain &lt;title&gt;"


def test_key_entities_are_bold_and_stars_in_them_cannot_unbalance_it() -> None:
    text = story_message(story(), 2)["blocks"][0]["text"]["text"]
    assert (
        text
        == "*<https://news.example/a?x=1&y=2|2. NATO and South Korea agree>*\n*NATO* met *South Korea* in Brussels."
    )
    starred = story_message(story(summary="*NATO* x", highlights=(Span(0, 6, "ORG"),)), 1)
    assert starred["blocks"][0]["text"]["text"].endswith("\n*NATO* x")


def test_long_text_is_cut_within_3000_characters_without_splitting_an_entity() -> None:
    summary = "Fish & chips <3 " * 400
    msg = story_message(story(summary=summary, highlights=(Span(0, 4, "MISC"),)), 1)
    text = msg["blocks"][0]["text"]["text"]
    assert len(text) <= 3000 and text.endswith("…")
    assert not re.search(r"&(a|am|l|g)?…$", text) and text.count("&amp;") > 100
    assert len(fit([("x" * 5000, True)], 100)) == 100


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
    assert msg["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "News digest"}}
    assert msg["blocks"][1]["text"]["text"] == "*Fri 27 Nov 2026* · 2 stories\nIn the news: *NATO*, *South Korea*"
    empty = parent_message(Digest(8, ChannelRef("slack", "C1"), "T" * 200, datetime(2026, 11, 27, tzinfo=UTC), ()))
    assert "no new stories" in empty["text"] and len(empty["blocks"][0]["text"]["text"]) == 150


def test_replies_are_escaped_chunked_and_kept_under_50_blocks() -> None:
    usage = reply_message(Reply(("Give one URL.", "Usage: subscribe <feed or site URL>"), ok=False))
    assert usage["blocks"][0]["text"]["text"] == "⚠️ Give one URL.\nUsage: subscribe &lt;feed or site URL&gt;"
    huge = reply_message(Reply(tuple("x" * 2900 for _ in range(80))))
    assert len(huge["blocks"]) == 50 and all(
        len(b["elements"][0]["text"] if b["type"] == "context" else b["text"]["text"]) <= 3000 for b in huge["blocks"]
    )
    found = reply_message(
        Reply(
            ("Top 1 for nato:",),
            results=(SearchResult("NATO <b>", "One line & more.", "Wire", "https://w.example/1", None),),
        )
    )
    assert found["blocks"][1]["text"]["text"] == "*<https://w.example/1|NATO &lt;b&gt;>*\nOne line &amp; more.\nWire"


def test_notices_are_escaped() -> None:
    msg = notice_message("Feed <!channel> paused after 10 failures")
    assert msg["text"] == "Feed &lt;!channel&gt; paused after 10 failures"
    assert msg["blocks"][0]["text"]["text"] == msg["text"]


def test_huge_titles_and_urls_stay_within_a_section() -> None:
    from adapters.slack.render import SECTION_CHARS, story_message
    from bot.models import DigestStory

    for title, url in (
        ("T" * 3600, "https://x.example/a"),
        ("&" * 700, "https://x.example/a"),
        ("Short", "https://x.example/" + "a" * 3500),
    ):
        story = DigestStory(
            story_id=1, title=title, url=url, source="S", summary="Words. " * 600, highlights=(), key_entities=()
        )
        message = story_message(story, 1)
        for block in message["blocks"]:
            if block["type"] == "section":
                assert 0 < len(block["text"]["text"]) <= SECTION_CHARS
