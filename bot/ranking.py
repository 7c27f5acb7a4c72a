"""How a digest orders a channel's new stories: followed topics first, then stories with a headline
and a summary, then coverage, then recency. A story with only a headline (an empty body) or only a
summary (a file-name title) follows those; one with neither is left out. Pure functions over
stored articles.

An undated item is dated by when it was first seen, once: a story's undated articles count by
their earliest sighting, so an item a feed keeps listing (or lists again under a new GUID) does
not look new at every poll. Stories known only by such a first sighting follow the dated ones of
the same coverage, because a feed's first fetch brings its whole backlog at one instant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from bot.store.rows import StoredArticle

# a title that is only a file name or an address: a photo upload ("IMG_1234.jpg"), an attachment
_FILE_NAME = re.compile(
    r"^[\w\-. ()~]+\.(?:jpe?g|png|gif|webp|heic|bmp|tiff?|svg|mp[34]|m4a|mov|avi|mkv|wav|pdf|docx?|xlsx?|zip)$", re.I
)
_ADDRESS = re.compile(r"^(?:https?://|www\.)\S+$", re.I)
_WORD = re.compile(r"[^\W\d_]{2,}")


def title_has_words(title: str) -> bool:
    """False for an empty title, a file name, a bare link, or one without a word of two letters."""
    title = title.strip()
    return bool(title) and not _FILE_NAME.match(title) and not _ADDRESS.match(title) and bool(_WORD.search(title))


def shows_words(articles: Sequence[StoredArticle]) -> int:
    """2 when a headline and a summary say something, 1 when only one of them does (a file-name
    title, an empty body), 0 when neither does (not worth posting)."""
    headline = any(title_has_words(a.title) for a in articles)
    summary = any(_WORD.search(" ".join(a.summary)) for a in articles)
    return int(headline) + int(summary)


def story_time(articles: Sequence[StoredArticle]) -> tuple[bool, datetime]:
    """(is it dated, when): the newest stated date of its articles, or else its first sighting."""
    dated = [a.published_at for a in articles if a.published_at is not None]
    if dated:
        return True, max(dated)
    return False, min(a.first_seen_at for a in articles)


def rank(
    candidates: Sequence[tuple[int, int, datetime]],
    by_story: dict[int, list[StoredArticle]],
    followed: set[int],
) -> list[int]:
    """Story ids best first: followed topics, then stories with both a headline and a summary worth
    reading, then stories many outlets carry, then dated before undated, then the newest; wordless
    ones dropped."""
    keyed = []
    for story_id, sources, latest in candidates:
        articles = by_story.get(story_id) or []
        words = shows_words(articles) if articles else 2
        if not words:
            continue
        dated, when = story_time(articles) if articles else (True, latest)
        keyed.append(((story_id not in followed, -words, -sources, not dated, -when.timestamp(), -story_id), story_id))
    return [sid for _, sid in sorted(keyed)]
