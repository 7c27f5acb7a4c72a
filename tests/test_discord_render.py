"""Discord rendering without a server: inert feed text, bold entities, and Discord's size limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from adapters.discord import render
from bot.models import ChannelRef, Digest, DigestStory, Reply, SearchResult, Span


def story(title: str = "Title", summary: str = "Summary.", **kw: object) -> DigestStory:
    values: dict[str, object] = {
        "story_id": 1,
        "title": title,
        "url": "https://news.example/a",
        "source": "Wire",
        "summary": summary,
        "highlights": (),
        "key_entities": (),
    }
    values.update(kw)
    return DigestStory(**values)  # type: ignore[arg-type]


def digest(title: str = "News digest", stories: tuple[DigestStory, ...] = (), **kw: object) -> Digest:
    return Digest(
        1,
        ChannelRef("discord", "1"),
        title,
        datetime(2026, 11, 27, 7, tzinfo=UTC),
        stories,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@everyone look", "@\u200beveryone look"),
        ("hi @Here", "hi @\u200bHere"),
        (
            "<@123> and <@!12345678901234567> <@&456> <#789>",
            "<\u200b@123> and <\u200b@!12345678901234567> <\u200b@&456> <\u200b#789>",
        ),
        (
            "</news:1> <:wave:2> <a:dance:3> <t:1700000000>",
            "<\u200b/news:1> <\u200b:wave:2> <\u200ba:dance:3> <\u200bt:1700000000>",
        ),
        ("[a](https://x) and [b](https://y)", "\\[a](https://x) and \\[b](https://y)"),
        ("\\[a](https://x)", "\\\\\\[a](https://x)"),
        (
            "**bold** __u__ ~~s~~ ||spoiler|| `code`",
            "\\*\\*bold\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\|\\|spoiler\\|\\| \\`code\\`",
        ),
        ("# heading", "\\# heading"),
        ("> quote", "\\> quote"),
        ("see https://x.example/a_b_c", "see https://x.example/a_b_c"),
        ("a < b > c", "a < b > c"),
    ],
)
def test_inert_makes_markdown_mentions_and_masked_links_literal(raw: str, expected: str) -> None:
    assert render.inert(raw) == expected


def test_key_entities_are_bold_and_everything_else_inert() -> None:
    text = "NATO met *South Korea* in  Brussels."
    spans = (Span(0, 4, "ORG"), Span(10, 21, "LOC"), Span(12, 15, "LOC"))  # the last overlaps: ignored
    assert render.marked(text, spans) == "**NATO** met \\***South Korea**\\* in Brussels."


def test_fit_cuts_at_a_word_keeps_bold_pairs_and_stays_within_the_limit() -> None:
    text = ("Alpha Beta said " * 400).strip()
    spans = tuple(Span(i * 16, i * 16 + 10, "PER") for i in range(400))
    for limit in (50, 256, 4096):
        out = render.fit(text, spans, limit)
        assert len(out) <= limit and out.endswith("…")
        assert out.count("**") % 2 == 0
    assert render.fit("short", (), 10) == "short"


def test_a_story_embed_keeps_within_every_discord_limit() -> None:
    huge = story(
        title="T" * 1000,
        summary=("word " * 3000).strip(),
        source="S" * 3000,
        also_covered_by=("Other " * 500,),
        published=datetime(2026, 11, 27, tzinfo=UTC),
    )
    embed = render.story_embed(huge, 1)
    assert len(embed.title or "") <= render.EMBED_TITLE_LIMIT
    assert len(embed.description or "") <= render.EMBED_DESCRIPTION_LIMIT
    assert len(embed.footer.text or "") <= render.EMBED_FOOTER_LIMIT
    assert len(embed) <= render.EMBED_TOTAL_LIMIT
    assert embed.url == "https://news.example/a" and embed.timestamp == huge.published


def test_a_story_message_keeps_within_2000_characters_and_drops_unsafe_links() -> None:
    text = render.story_text(story(title="x" * 900, summary="*" * 5000, url="javascript:alert(1)"), 2)
    assert len(text) <= render.CONTENT_LIMIT and "javascript" not in text
    assert text.startswith("**2. xxx")


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "https://a.example/x y", "https://a.example/x>y", "ftp://a.example/", "", None]
)
def test_only_plain_http_links_are_linked(url: str | None) -> None:
    assert render.safe_url(url) is None


def test_the_parent_and_the_thread_name_say_what_the_digest_is() -> None:
    d = digest(stories=(story(),), top_entities=("NATO", "@everyone"), timezone="Europe/Brussels")
    assert render.parent_text(d) == "**News digest** · Fri 27 Nov 2026 · 1 story · **NATO**, **@\u200beveryone**"
    embed = render.parent_embed(d)
    assert embed.title == "News digest · Fri 27 Nov 2026" and "**NATO**" in (embed.description or "")
    assert render.parent_text(digest()).endswith("no new stories since the last digest")
    long_name = render.thread_name(digest(title="Digest " * 40))
    assert len(long_name) == render.THREAD_NAME_LIMIT and long_name.endswith("…")


def test_long_replies_are_split_into_messages_of_2000_characters_and_10_embeds() -> None:
    lines = tuple(f"{i}. " + "feed " * 20 for i in range(200))
    results = tuple(SearchResult(f"Story {i}", "summary", "Wire", "https://x.example/", None) for i in range(12))
    chunks = render.reply_chunks(Reply(lines, results=results), "embeds")
    assert all(len(text) <= render.CONTENT_LIMIT and len(embeds) <= 10 for text, embeds in chunks)
    assert sum(len(embeds) for _, embeds in chunks) == 12
    assert "".join(text for text, _ in chunks).count("feed") == 200 * 20

    (only,) = render.reply_chunks(Reply(("Top 1:",), results=results[:1]), "markdown")
    assert only[1] == [] and re.search(r"1\. \*\*Story 0\*\* — summary\n-# Wire · <https://x.example/>", only[0])


def test_long_search_results_are_split_under_the_embed_total() -> None:
    from adapters.discord.render import reply_chunks
    from bot.models import Reply, SearchResult

    results = tuple(SearchResult("T" * 400, "S " * 800, "Source", "https://x.example/a", None) for _ in range(5))
    chunks = reply_chunks(Reply(("Top 5:",), results=results), "embeds")
    assert sum(len(embeds) for _, embeds in chunks) == 5
    assert all(sum(len(e) for e in embeds) <= 6000 for _, embeds in chunks)
