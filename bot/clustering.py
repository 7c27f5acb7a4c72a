"""Story clustering: each new article joins a recent story or starts a new one, incrementally.

Built once per polling pass from the recent articles' stored features (`cluster_candidates`);
`find` and `add` run per new article, so nothing is re-clustered. Exact copies join by content
hash, near-copies by shingle sketch, and the same story told by another outlet by TF-IDF cosine of
content terms and names against its most similar earlier article (article-to-article linking,
which carried over between event-level ECB+ and coarse UCI stories; centroid rules did not).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.enrich import Enriched, parse_features
from bot.nlp.fingerprint import similarity
from bot.nlp.storyvec import StoryFeatures

# Estimated Jaccard of word 4-gram sketches above which two texts are copies of one article.
SAME_STORY_SIMILARITY = 0.5
# TF-IDF cosine (terms, blended with names) at which an article joins the story of its most
# similar recent article: one setting for both dev sets (ECB+ event stories, UCI headline stories).
SAME_EVENT_SIMILARITY = 0.22
NAME_WEIGHT = 0.3
# Terms in more than this share of recent articles carry no story identity; skipping their
# postings keeps a 10,000-article index fast.
_COMMON_SHARE = 0.03
_PROBE_TERMS = 15
_SHORTLIST = 20

Candidate = tuple[int, str, Any, datetime | None]  # story id, content hash, stored features, published


class StoryIndex:
    """Recent articles' features, so each new article joins a story or starts one."""

    def __init__(
        self,
        candidates: Iterable[Candidate | tuple[int, str, Any]],
        *,
        window_hours: float = 48,
        threshold: float = SAME_EVENT_SIMILARITY,
    ) -> None:
        self.window = timedelta(hours=window_hours)
        self.threshold = threshold
        self.by_hash: dict[str, int] = {}
        self._sketches: list[tuple[int, list[int]]] = []
        self._by_shingle: dict[int, list[int]] = defaultdict(list)  # sketch hash -> indexes into _sketches
        self._df: dict[str, int] = defaultdict(int)
        self._name_df: dict[str, int] = defaultdict(int)
        self._n = 0
        self._postings: dict[str, list[int]] = defaultdict(list)
        # per article: story id, unit term vector, unit name vector, published
        self._docs: list[tuple[int, dict[str, float], dict[str, float], datetime | None]] = []
        for cand in candidates:
            story_id, digest, stored = cand[0], cand[1], cand[2]
            published = cand[3] if len(cand) > 3 else None
            sketch, feats, pub = parse_features(stored)
            self._add(story_id, digest, sketch, feats, pub or published)

    # --- public API -----------------------------------------------------------------------
    def find(self, info: Enriched) -> int | None:
        """The story this article belongs to, or None when it starts a new one."""
        return self._find(info.content_hash, *parse_features(info.shingles))

    def add(self, story_id: int, info: Enriched) -> None:
        self._add(story_id, info.content_hash, *parse_features(info.shingles))

    def assign(self, info: Enriched, new_story: int) -> int:
        """find + add in one step (for the inspection command): the story id it ends up in."""
        story = self.find(info)
        story = new_story if story is None else story
        self.add(story, info)
        return story

    # --- internals ------------------------------------------------------------------------
    def _add(
        self, story_id: int, digest: str, sketch: list[int], feats: StoryFeatures | None, pub: datetime | None
    ) -> None:
        self.by_hash.setdefault(digest, story_id)
        if sketch:
            for h in sketch:
                self._by_shingle[h].append(len(self._sketches))
            self._sketches.append((story_id, sketch))
        if feats is None or not feats.terms:
            return
        self._n += 1
        for t in feats.terms:
            self._df[t] += 1
        for t in feats.names:
            self._name_df[t] += 1
        terms, names = self._vectors(feats)
        i = len(self._docs)
        self._docs.append((story_id, terms, names, pub))
        for t in terms:
            self._postings[t].append(i)

    def _vectors(self, feats: StoryFeatures) -> tuple[dict[str, float], dict[str, float]]:
        # IDF from the articles indexed so far (plus this one), so no corpus has to ship.
        n = self._n + 1
        terms = _unit({t: w * math.log(n / (self._df.get(t, 0) + 0.5)) for t, w in feats.terms.items()})
        names = _unit({t: w * math.log(n / (self._name_df.get(t, 0) + 0.5)) for t, w in feats.names.items()})
        return terms, names

    def _find(self, digest: str, sketch: list[int], feats: StoryFeatures | None, pub: datetime | None) -> int | None:
        if digest in self.by_hash:
            return self.by_hash[digest]
        shared: dict[int, int] = defaultdict(int)
        for h in sketch:
            for i in self._by_shingle.get(h, ()):
                shared[i] += 1
        # Only sketches sharing a good part of their hashes can reach the threshold: no full scan.
        floor = SAME_STORY_SIMILARITY * min(len(sketch), 1 + len(sketch) // 2)
        best, best_score = None, SAME_STORY_SIMILARITY
        for i in (i for i, n in shared.items() if n >= floor):
            story_id, other = self._sketches[i]
            score = similarity(sketch, other)
            if score >= best_score:
                best, best_score = story_id, score
        if best is not None or feats is None or not feats.terms:
            return best
        return self._nearest(feats, pub)

    def _nearest(self, feats: StoryFeatures, pub: datetime | None) -> int | None:
        q_terms, q_names = self._vectors(feats)
        common = _COMMON_SHARE * self._n + 5
        # Candidates come from the postings of the query's heaviest terms only, then get a full
        # cosine: keeps each lookup near-constant as the index grows to 10,000 articles.
        heavy = sorted((t for t in q_terms if self._df.get(t, 0) <= common), key=lambda t: -q_terms[t])
        partial: dict[int, float] = defaultdict(float)
        for t in heavy[:_PROBE_TERMS]:
            w = q_terms[t]
            for i in self._postings.get(t, ()):
                partial[i] += w * self._docs[i][1][t]
        shortlist = sorted(partial, key=lambda i: -partial[i])[:_SHORTLIST]
        dots = {i: sum(w * self._docs[i][1].get(t, 0.0) for t, w in q_terms.items()) for i in shortlist}
        best, best_score = None, self.threshold
        for i, dot in dots.items():
            story_id, _, names, other_pub = self._docs[i]
            if pub is not None and other_pub is not None and abs(pub - other_pub) > self.window:
                continue
            score = dot
            if q_names and names:
                score = (1 - NAME_WEIGHT) * dot + NAME_WEIGHT * sum(w * names.get(t, 0.0) for t, w in q_names.items())
            if score >= best_score:
                best, best_score = story_id, score
        return best


def _unit(vec: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(x * x for x in vec.values()))
    return {t: x / norm for t, x in vec.items()} if norm else {}


class _Article(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def source(self) -> str: ...


A = TypeVar("A", bound=_Article)


def representative(articles: Sequence[A], prefer_sources: Sequence[str] = ()) -> A:
    """The story's most complete article (longest text, earliest on ties), unless a preferred source has one."""
    for source in prefer_sources:
        mine = [a for a in articles if a.source.casefold() == source.casefold()]
        if mine:
            return max(mine, key=lambda a: (len(a.text), -a.id))
    return max(articles, key=lambda a: (len(a.text), -a.id))
