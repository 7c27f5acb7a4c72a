"""Story clustering: each new article joins a recent story or starts a new one, incrementally.

Built from the recent articles' stored features (`cluster_candidates_after`) and kept between passes;
each batch of new articles is placed (`plan`) against what the index holds, so nothing is
re-clustered. Exact copies join by content
hash, near-copies by shingle sketch, and the same story told by another outlet by TF-IDF cosine of
content terms and names against its most similar earlier article (article-to-article linking,
which carried over between event-level ECB+ and coarse UCI stories; centroid rules did not).

A join is decided on arrival, before the new article's own event may have a story: the first
report of a second, similar event (another arrest at the same club) can join the first event's
story, and its followers with it. The settle step of a plan re-checks each story that gained articles: when its
full-text articles fall into groups that resemble each other too little on average (average link),
the groups without the story's oldest article become stories of their own. Stories already carried
by a digest are never split, so nothing posted moves.

Decide, then apply: `plan` decides without the store (which story each article joins, which stories
it starts, which splits follow) and records the articles under stand-in ids; the store applies the
plan in one transaction (bot.store.articles.add_articles), skipping the splits of stories a digest
carries, which only it can tell under its lock; `applied` then gives the index the real ids. A plan
the store did not apply leaves the index unusable: build it again from the store.

Cost per article stays flat as the index grows: candidates come only from the most recent
postings of the new article's heaviest (rare, repeated) terms, and only a short list of them is
scored in full; a settle check scores at most the story's newest `_SPLIT_MEMBERS` articles.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from bot.enrich import Enriched, parse_features
from bot.models import AppliedPlan, Candidate, ClusterPlan, StoryRef, StorySplit
from bot.nlp.fingerprint import similarity
from bot.nlp.storyvec import StoryFeatures

# Estimated Jaccard of word 4-gram sketches above which two texts are copies of one article.
SAME_STORY_SIMILARITY = 0.5
# TF-IDF cosine (terms, blended with names) at which an article joins the story of its most
# similar recent article: one setting for both dev sets (ECB+ event stories, UCI headline stories).
# With names and numbers weighted up in the terms (storyvec.SPECIFIC_WEIGHT), the separate name
# cosine needs less weight.
SAME_EVENT_SIMILARITY = 0.24
NAME_WEIGHT = 0.15
# Full text (term weights summing above LONG_TEXT) carries more evidence than a headline, so its
# bar is lower; headlines keep SAME_EVENT_SIMILARITY (measured on ECB+ full text and UCI headlines).
FULL_TEXT_SIMILARITY = 0.22
LONG_TEXT = 60.0
# A story of SUPPORT_MIN_SIZE or more articles that the newcomer resembles through one member only
# (its second most similar member scores under SUPPORT_RATIO of the best) needs SUPPORT_MARGIN more.
SUPPORT_MIN_SIZE = 3
SUPPORT_RATIO = 0.5
SUPPORT_MARGIN = 0.06
_SUPPORT_MEMBERS = 32  # the story's newest members scored for that check
# Candidate search: the query's heaviest terms, and only the newest postings of each, so a term
# shared by thousands of articles costs no more than a rare one.
_PROBE_TERMS = 15
_RECENT_POSTINGS = 64
_SHORTLIST = 12
# A story whose full-text articles form groups of SPLIT_MIN_GROUP or more that resemble each other
# less than SPLIT_SIMILARITY on average is that many stories (measured on ECB+ dev: 0.20-0.22 best,
# 0.24 too eager; headline-only stories are coarse and never split, measured on UCI).
SPLIT_SIMILARITY = 0.20
SPLIT_MIN_GROUP = 2
# A story is checked for a split only when a new full-text article's mean similarity to the older
# half of its full-text articles is under SPLIT_CHECK: a newcomer that fits the story's core leaves
# it whole (ECB+ dev: 0.862 pairwise against 0.863 checking every join, for about a third of the
# extra time on the stress set in benchmarks/quality.py).
SPLIT_CHECK = 0.25
_SPLIT_MEMBERS = 32  # the story's newest full-text articles a settle check looks at
_SKETCH_PROBES = 32  # a sketch's smallest hashes: copies share most of them
_SKETCH_RECENT = 16


@dataclass(frozen=True, slots=True)
class _Doc:
    story: int
    terms: dict[str, float]  # unit TF-IDF vector
    names: dict[str, float]  # unit IDF-weighted name vector
    published: datetime | None
    long: bool  # full text, not a headline or teaser: only these settle a story
    ref: int | None  # the article's id, once the store has given it one
    digest: str  # content hash
    sketch_at: int  # index into _sketches, or -1


@dataclass(frozen=True, slots=True)
class _Pending:
    """A plan the store has not applied yet: what `applied` must bind to real ids."""

    plan: ClusterPlan
    added: list[tuple[int, int, str]]  # per article: index into _docs (or -1), into _sketches (or -1), hash
    groups: list[tuple[int, list[int]]]  # per split: the story (a stand-in id when new), indexes into _docs


class StoryIndex:
    """Recent articles' features, so each new article joins a story or starts one.

    Story ids are 0 or more; while a plan is pending, the stories it starts have the stand-in ids
    -1, -2, ... in the index."""

    def __init__(
        self,
        candidates: Iterable[Candidate],
        *,
        window_hours: float = 48,
        threshold: float = SAME_EVENT_SIMILARITY,
        full_text_threshold: float | None = None,
    ) -> None:
        self.window = timedelta(hours=window_hours)
        self.threshold = threshold
        # a custom threshold moves the full-text bar with it unless that is given too
        self.full_text_threshold = (
            full_text_threshold
            if full_text_threshold is not None
            else threshold + FULL_TEXT_SIMILARITY - SAME_EVENT_SIMILARITY
        )
        self.by_hash: dict[str, int] = {}
        self._sketches: list[tuple[int, list[int]]] = []
        self._by_shingle: dict[int, list[int]] = defaultdict(list)  # sketch hash -> indexes into _sketches
        self._df: dict[str, int] = defaultdict(int)
        self._name_df: dict[str, int] = defaultdict(int)
        self._n = 0
        # term -> (index into _docs, the term's weight there), oldest first
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._docs: list[_Doc] = []
        self._members: dict[int, list[int]] = defaultdict(list)  # story id -> indexes into _docs
        self._pending: _Pending | None = None
        self.extend(candidates)

    def extend(self, candidates: Iterable[Candidate]) -> None:
        """Add already-clustered articles (from the store) to the index."""
        for cand in candidates:
            sketch, feats, pub = parse_features(cand.features)
            self._add(cand.story_id, cand.content_hash, sketch, feats, pub or cand.published, cand.article_id)

    # --- public API -----------------------------------------------------------------------
    def __len__(self) -> int:
        """How many articles the index compares newcomers with."""
        return len(self._docs)

    @property
    def pending(self) -> bool:
        """A plan is out that `applied` has not met: if the store did not apply it, build the index again."""
        return self._pending is not None

    def find(self, info: Enriched) -> int | None:
        """The story this article belongs to, or None when it starts a new one (nothing is recorded)."""
        return self._find(info.content_hash, *parse_features(info.shingles))

    def plan(self, infos: Sequence[Enriched], *, settle: bool = True) -> ClusterPlan:
        """Place a batch of new articles, in order: each joins the story `find` gives it, which may be
        one an earlier article of the batch started, or starts one. Then the settle step: each story
        they joined whose full-text articles form separate groups is split, those groups without its
        oldest article going to stories of their own.

        The articles are recorded here at once (a later one of the batch is compared with them);
        `applied` must follow with what the store made of the plan. `settle=False` plans no splits
        (for measuring what the settle step costs)."""
        if self._pending is not None:
            raise RuntimeError("the last plan was never applied: build the index again from the store")
        placements: list[StoryRef] = []
        added: list[tuple[int, int, str]] = []
        touched: set[int] = set()  # stories that gained an article with terms
        started = 0
        for info in infos:
            sketch, feats, pub = parse_features(info.shingles)
            story = self._find(info.content_hash, sketch, feats, pub)
            if story is None:
                started += 1
                story = -started
            placements.append(_ref(story))
            sketch_at = len(self._sketches) if sketch else -1  # where _add puts its sketch
            i = self._add(story, info.content_hash, sketch, feats, pub, None)
            added.append((-1 if i is None else i, sketch_at, info.content_hash))
            if i is not None:
                touched.add(story)
        docs = self._docs
        position = {i: pos for pos, (i, _, _) in enumerate(added) if i >= 0}
        splits: list[StorySplit] = []
        groups: list[tuple[int, list[int]]] = []
        # stored stories by id, then the new ones in the order they were started: the order of their ids
        for story in sorted(touched, key=lambda s: (s < 0, abs(s))) if settle else ():
            # also for a story a digest carries, which only the store can tell: it skips those
            for group in self._split(story, position.keys()):
                stored = tuple(r for r in (docs[i].ref for i in group if i not in position) if r is not None)
                splits.append(StorySplit(_ref(story), stored, tuple(position[i] for i in group if i in position)))
                groups.append((story, group))
        plan = ClusterPlan(tuple(placements), started, tuple(splits))
        self._pending = _Pending(plan, added, groups)
        return plan

    def applied(self, plan: ClusterPlan, result: AppliedPlan) -> dict[int, int]:
        """Give the plan's articles and new stories their ids and move the split groups the store
        moved. Returns the article ids that moved, each with its new story id."""
        pending = self._pending
        if pending is None or pending.plan is not plan:
            raise ValueError("applied: not the plan this index is waiting for")
        if (len(result.article_ids), len(result.story_ids), len(result.split_to)) != (
            len(plan.placements),
            plan.new_stories,
            len(plan.splits),
        ):
            raise ValueError(
                f"applied got {len(result.article_ids)} article ids, {len(result.story_ids)} stories and "
                f"{len(result.split_to)} splits for a plan of {len(plan.placements)}, {plan.new_stories} "
                f"and {len(plan.splits)}"
            )

        def real(story: int) -> int:
            return result.story_ids[-story - 1] if story < 0 else story

        for k, story_id in enumerate(result.story_ids):
            if (members := self._members.pop(-k - 1, None)) is not None:
                self._members[story_id].extend(members)
        docs = self._docs
        for (i, sketch_at, digest), ref in zip(pending.added, result.article_ids, strict=True):
            if i >= 0:
                docs[i] = replace(docs[i], story=real(docs[i].story), ref=ref)
            if sketch_at >= 0:
                story, sketch = self._sketches[sketch_at]
                self._sketches[sketch_at] = (real(story), sketch)
            if self.by_hash.get(digest, 0) < 0:
                self.by_hash[digest] = real(self.by_hash[digest])
        moved: dict[int, int] = {}
        for (story, group), target in zip(pending.groups, result.split_to, strict=True):
            if target is not None:
                self._move(group, real(story), target)
                moved |= {r: target for r in (docs[i].ref for i in group) if r is not None}
        self._pending = None
        return moved

    # --- internals ------------------------------------------------------------------------
    def _add(
        self,
        story_id: int,
        digest: str,
        sketch: list[int],
        feats: StoryFeatures | None,
        pub: datetime | None,
        ref: int | None,
    ) -> int | None:
        """Index one article; returns its index into _docs, or None when it has no terms to compare."""
        self.by_hash.setdefault(digest, story_id)
        sketch_at = -1
        if sketch:
            sketch_at = len(self._sketches)
            for h in sketch[:_SKETCH_PROBES]:
                self._by_shingle[h].append(sketch_at)
            self._sketches.append((story_id, sketch))
        if feats is None or not feats.terms:
            return None
        self._n += 1
        for t in feats.terms:
            self._df[t] += 1
        for t in feats.names:
            self._name_df[t] += 1
        terms, names = self._vectors(feats)
        i = len(self._docs)
        long = sum(feats.terms.values()) > LONG_TEXT
        self._docs.append(_Doc(story_id, terms, names, pub, long, ref, digest, sketch_at))
        self._members[story_id].append(i)
        for t, w in terms.items():
            self._postings[t].append((i, w))
        return i

    def _split(self, story: int, new: Container[int]) -> list[list[int]]:
        """Groups of the story's newest full-text articles (indexes into _docs) that are stories of
        their own: all but the group holding the oldest of them.

        Checked only when a new full-text article resembles the older half of them less than
        SPLIT_CHECK on average: most joins fit and cost one row of scores, not a matrix."""
        docs = self._docs
        members = [i for i in self._members[story] if docs[i].long][-_SPLIT_MEMBERS:]
        newcomers = [k for k, i in enumerate(members) if i in new]
        if len(members) < 2 * SPLIT_MIN_GROUP or not newcomers:
            return []
        n = len(members)
        sims = [[1.0] * n for _ in range(n)]
        done = [False] * n
        for k in newcomers:
            a = docs[members[k]]
            for j in range(n):
                if j != k:
                    sims[k][j] = sims[j][k] = _score(a.terms, a.names, docs[members[j]])
            done[k] = True
        # the story's core is its older half: a newcomer measured against every member would also
        # count the earlier articles of its own event and hide a second event once it has two
        core = range(max(SPLIT_MIN_GROUP, n // 2))
        if all(
            sum(sims[k][j] for j in core if j != k) >= SPLIT_CHECK * sum(1 for j in core if j != k) for k in newcomers
        ):
            return []
        for k in range(n):
            if not done[k]:
                a = docs[members[k]]
                for j in range(k + 1, n):
                    if not done[j]:
                        sims[k][j] = sims[j][k] = _score(a.terms, a.names, docs[members[j]])
        groups = _average_link(sims, SPLIT_SIMILARITY, SPLIT_MIN_GROUP)
        return [[members[k] for k in g] for g in groups if 0 not in g]

    def _move(self, group: list[int], old: int, new: int) -> None:
        docs, gone = self._docs, set(group)
        self._members[old] = [i for i in self._members[old] if i not in gone]
        self._members[new].extend(group)
        for i in group:
            doc = docs[i] = replace(docs[i], story=new)
            # exact and near copies of a moved article join where it went
            if self.by_hash.get(doc.digest) == old:
                self.by_hash[doc.digest] = new
            if doc.sketch_at >= 0:
                self._sketches[doc.sketch_at] = (new, self._sketches[doc.sketch_at][1])

    def _vectors(self, feats: StoryFeatures) -> tuple[dict[str, float], dict[str, float]]:
        # IDF from the articles indexed so far (plus this one), so no corpus has to ship.
        n = self._n + 1
        df, name_df, log = self._df, self._name_df, math.log
        terms = _unit({t: w * log(n / (df.get(t, 0) + 0.5)) for t, w in feats.terms.items()})
        names = _unit({t: w * log(n / (name_df.get(t, 0) + 0.5)) for t, w in feats.names.items()})
        return terms, names

    def _find(self, digest: str, sketch: list[int], feats: StoryFeatures | None, pub: datetime | None) -> int | None:
        if digest in self.by_hash:
            return self.by_hash[digest]
        shared: dict[int, int] = defaultdict(int)
        probes = sketch[:_SKETCH_PROBES]
        for h in probes:
            for i in self._by_shingle.get(h, ())[-_SKETCH_RECENT:]:
                shared[i] += 1
        # A copy (estimated Jaccard >= J) holds about J of any run of the smallest hashes; a
        # margin below that keeps sampling noise from hiding it, and only those few are compared
        # in full.
        floor = 0.7 * SAME_STORY_SIMILARITY * len(probes)
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
        heavy = heapq.nlargest(_PROBE_TERMS, q_terms, key=q_terms.__getitem__)
        partial: dict[int, float] = defaultdict(float)
        docs = self._docs
        for t in heavy:
            w = q_terms[t]
            for i, wd in self._postings.get(t, ())[-_RECENT_POSTINGS:]:
                partial[i] += w * wd
        shortlist = heapq.nlargest(_SHORTLIST, partial, key=partial.__getitem__)
        bar = self.full_text_threshold if sum(feats.terms.values()) > LONG_TEXT else self.threshold
        by_story: dict[int, float] = {}
        for i in shortlist:
            doc = docs[i]
            if pub is not None and doc.published is not None and abs(pub - doc.published) > self.window:
                continue
            score = _score(q_terms, q_names, doc)
            if score >= bar and score > by_story.get(doc.story, -1.0):
                by_story[doc.story] = score
        best, best_margin = None, -1.0
        for story, score in sorted(by_story.items(), key=lambda kv: -kv[1])[:3]:
            need = bar
            members = self._members[story]
            if len(members) >= SUPPORT_MIN_SIZE and not _supported(
                q_terms, q_names, (docs[j] for j in reversed(members[-_SUPPORT_MEMBERS:])), SUPPORT_RATIO * score
            ):
                need += SUPPORT_MARGIN
            if score >= need and score - need > best_margin:
                best, best_margin = story, score - need
        return best


def _ref(story: int) -> StoryRef:
    return StoryRef(id=story) if story >= 0 else StoryRef(new=-story - 1)


def pair_scores(infos: Sequence[Enriched]) -> list[list[float]]:
    """The TF-IDF and name score `find` uses, for each pair of these articles, with word statistics
    from all of them (without find's copy shortcuts and time window).

    For measuring what this similarity can do at best (offline, every article known at once);
    the bot itself never needs it."""
    index = StoryIndex(())
    parsed = [parse_features(info.shingles)[1] for info in infos]
    for feats in parsed:  # document frequencies of the whole set first, as an offline method would have
        if feats is not None and feats.terms:
            index._n += 1
            for t in feats.terms:
                index._df[t] += 1
            for t in feats.names:
                index._name_df[t] += 1
    index._n = max(index._n - 1, 0)  # _vectors counts the article it weighs as one more
    docs = [
        _Doc(0, *index._vectors(f), None, True, None, "", -1)
        if f is not None and f.terms
        else _Doc(0, {}, {}, None, True, None, "", -1)
        for f in parsed
    ]
    return [[_score(a.terms, a.names, b) for b in docs] for a in docs]


def _average_link(sims: list[list[float]], bar: float, min_group: int) -> list[list[int]]:
    """Average-link (UPGMA) clustering of 0..n-1 by these similarities, merging until the closest
    two groups that both hold min_group or more score under bar; smaller groups always merge into
    their closest, so a lone outlier never makes a story. Returns the groups, each sorted."""
    n = len(sims)
    groups = {i: [i] for i in range(n)}
    link = {(i, j): sims[i][j] for i in range(n) for j in range(i + 1, n)}
    heap = [(-s, i, j) for (i, j), s in link.items()]
    heapq.heapify(heap)
    while len(groups) > 1 and heap:
        neg, i, j = heapq.heappop(heap)
        if i not in groups or j not in groups or link[i, j] != -neg:
            continue  # a group already merged away, or an outdated similarity
        if -neg < bar and min(len(groups[i]), len(groups[j])) >= min_group:
            continue  # two groups of their own: kept apart
        size_i, size_j = len(groups[i]), len(groups[j])
        for k in groups:
            if k not in (i, j):
                ik, jk = (min(i, k), max(i, k)), (min(j, k), max(j, k))
                link[ik] = (link[ik] * size_i + link[jk] * size_j) / (size_i + size_j)
                heapq.heappush(heap, (-link[ik], *ik))
        groups[i] += groups.pop(j)
    return [sorted(g) for g in groups.values()]


def _supported(q_terms: dict[str, float], q_names: dict[str, float], members: Iterable[_Doc], floor: float) -> bool:
    """Whether two of the members (the best one among them) score at least floor: stops at the second."""
    found = 0
    for doc in members:
        if _score(q_terms, q_names, doc) >= floor:
            found += 1
            if found == 2:
                return True
    return False


def _score(q_terms: dict[str, float], q_names: dict[str, float], doc: _Doc) -> float:
    score = _dot(q_terms, doc.terms)
    if q_names and doc.names:
        score = (1 - NAME_WEIGHT) * score + NAME_WEIGHT * _dot(q_names, doc.names)
    return score


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    # the key intersection runs in C; two articles share few of their terms
    return sum(a[t] * b[t] for t in a.keys() & b.keys())


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
