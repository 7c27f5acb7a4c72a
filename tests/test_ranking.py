"""Digest ranking: coverage and recency as before, undated items dated once by first sight and
after the dated ones, stories with no words to show last or left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.ranking import rank, shows_words, story_time, title_has_words
from bot.store.rows import StoredArticle

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


def article(
    story: int, title: str, *, published: datetime | None = None, seen: datetime = NOW, summary: tuple[str, ...] = ()
) -> StoredArticle:
    return StoredArticle(
        id=story * 10 + len(title) % 10,
        feed_id=1,
        source="Wire",
        title=title,
        url=None,
        text=" ".join(summary),
        published_at=published,
        first_seen_at=seen,
        summary=list(summary),
        entities=[],
        story_id=story,
    )


def test_file_names_links_and_empty_titles_have_no_words() -> None:
    for junk in ("IMG_1234.jpg", "DSC00042.JPG", "scan 2026-11-27.pdf", "https://example.com/p/123", "", "  ", "1234"):
        assert not title_has_words(junk), junk
    for title in ("Harbor bridge reopens", "G7 leaders meet in Rome", "Show HN: a tiny feed reader", "Ödön wins"):
        assert title_has_words(title), title


def test_a_story_shows_words_through_its_headline_and_its_summary() -> None:
    assert shows_words([article(1, "Harbor bridge reopens", summary=("The bridge reopened on Friday.",))]) == 2
    assert shows_words([article(1, "Harbor bridge reopens")]) == 1  # an empty body
    assert shows_words([article(1, "IMG_1234.jpg", summary=("A crowd at the harbour on Friday.",))]) == 1
    assert shows_words([article(1, "IMG_1234.jpg")]) == 0


def test_undated_stories_count_by_their_first_sighting_not_the_latest() -> None:
    first, again = NOW - timedelta(days=2), NOW
    assert story_time([article(1, "Quiet item", seen=first), article(1, "Quiet item", seen=again)]) == (False, first)
    dated = NOW - timedelta(days=3)
    assert story_time([article(1, "A", seen=NOW), article(1, "A", published=dated)]) == (True, dated)


def test_order_followed_then_words_then_coverage_then_dated_then_newest() -> None:
    said = ("Something happened on Friday.",)
    stories = {
        1: [article(1, "Old dated story", published=NOW - timedelta(days=2), summary=said)],
        2: [article(2, "Fresh dated story", published=NOW - timedelta(hours=1), summary=said)],
        3: [article(3, "Undated item seen just now", seen=NOW, summary=said)],  # looks newest; its age is unknown
        4: [article(4, "IMG_1234.jpg")],  # nothing to show: left out
        5: [article(5, "IMG_0042.png", summary=("The mayor opened the new library.",))],  # after those with both
        6: [article(6, "Story many outlets carry", published=NOW - timedelta(days=1), summary=said)],
        7: [article(7, "A followed topic", published=NOW - timedelta(days=5), summary=said)],
        8: [article(8, "Headline and nothing else", published=NOW)],  # an empty body: with 5
    }
    candidates = [(sid, 3 if sid == 6 else 1, NOW) for sid in stories]
    assert rank(candidates, stories, followed={7}) == [7, 6, 2, 1, 3, 8, 5]


def test_without_articles_a_story_keeps_the_stored_figures() -> None:
    candidates = [(1, 1, NOW - timedelta(hours=2)), (2, 1, NOW - timedelta(hours=1)), (3, 2, NOW - timedelta(days=1))]
    assert rank(candidates, {}, followed=set()) == [3, 2, 1]
