"""Story clustering: each new article joins a recent story or starts a new one, incrementally.

Built once per polling pass from the recent articles' stored fingerprints; `find` and
`add` run per new article, so nothing is re-clustered.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.enrich import Enriched
from bot.nlp.fingerprint import similarity

# Estimated Jaccard of word 4-gram sketches above which two articles are one story;
# the same text under different boilerplate scores near 1, different stories near 0.
SAME_STORY_SIMILARITY = 0.5


class StoryIndex:
    """Recent articles' fingerprints, so each new article joins a story or starts one."""

    def __init__(self, candidates: Iterable[tuple[int, str, list[int]]]) -> None:
        self.by_hash: dict[str, int] = {}
        self.sketches: list[tuple[int, list[int]]] = []
        for story_id, digest, shingles in candidates:
            self._add(story_id, digest, shingles)

    def add(self, story_id: int, info: Enriched) -> None:
        self._add(story_id, info.content_hash, info.shingles)

    def _add(self, story_id: int, digest: str, shingles: list[int]) -> None:
        self.by_hash.setdefault(digest, story_id)
        self.sketches.append((story_id, shingles))

    def find(self, info: Enriched) -> int | None:
        """The story this article belongs to, or None when it starts a new one."""
        digest, shingles = info.content_hash, info.shingles
        if digest in self.by_hash:
            return self.by_hash[digest]
        best, best_score = None, SAME_STORY_SIMILARITY
        for story_id, other in self.sketches:
            score = similarity(shingles, other)
            if score >= best_score:
                best, best_score = story_id, score
        return best
