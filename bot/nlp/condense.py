"""Extractive condensing of one article into a few whole sentences.

Lead-first (news is an inverted pyramid: Lead-3 beats centrality methods on CNN/DM), skipping
fragments, non-sentences and a first sentence that only repeats the headline; when the opening is
weak (datelines, questions, stubs) it falls back to word-overlap centrality. Pure, no I/O.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from bot.nlp.sentences import split_sentences

_MIN_WORDS = 4
_HEADLINE_OVERLAP = 0.7  # share of a sentence's content words already in the title
_LEAD_WINDOW = 3  # eligible sentences past the budget still worth trying in lead mode
_ONE_SENTENCE_WINDOW = 5
_POSITION_DECAY = 0.05
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_ENDS_LIKE_SENTENCE = re.compile(r"[.!?…][\"'”’)\]]*$")
_STOP_WORDS = """a an the and or but of to in on at for by with from as is are was were be been has have had it its
this that these those he she they we i you his her their our will would can could may might not no said says
after before over into about than then there here also who which what when where while"""
_STOP = frozenset(_STOP_WORDS.split())
# A feed's teaser cut short: "... according to Machiavelli...", "lunar landing.…", "[…]", "Read more…".
_CUT_SHORT = re.compile(r"(?:\.{2,}|…|\[(?:\.{3}|…)\])[\"'”’)\]]*$")
# An opening pronoun or demonstrative that points back at the sentence before ("She was later named").
_POINTS_BACK = re.compile(r"^[\"'“‘(]?(?:he|she|they|it|his|her|their|its|him|them|this|these|those|such)\b", re.I)


def condense(title: str, text: str, *, max_sentences: int = 3, max_chars: int = 600) -> list[str]:
    """Up to `max_sentences` whole sentences of `text`, in document order, joined length <= `max_chars`.

    The one exception to the length cap: when no eligible sentence fits on its own, the first eligible
    sentence is returned alone and whole, because a summary is never cut mid-sentence. A sentence
    that trails off ("..." or "…" at its end, mostly a teaser the feed cut short) is left out; a
    chosen sentence that opens with a pronoun brings the sentence before it. Returns [] when `text`
    has no sentences left, or only ones that repeat the headline.
    """
    sentences = split_sentences(text)
    if not sentences or max_sentences < 1:
        return []
    title_words = _content(title)
    # a sentence that trails off ("..." / "…", mostly a feed cutting its teaser short) never goes in
    usable = [i for i, s in enumerate(sentences) if not _repeats_headline(s, title_words) and not _CUT_SHORT.search(s)]
    eligible = [i for i in usable if _is_sentence(sentences[i])]
    if not eligible:
        # Nothing looks like prose: the longest pieces are still better than nothing, but a text
        # that only says the headline again gives no summary (the headline is shown already).
        eligible = usable
        if not eligible:
            return []
    if _weak_lead(sentences, title_words):
        central = _by_centrality(sentences, eligible)
        chosen = _fit(sentences, central, max_sentences, max_chars, window=len(central))
    elif max_sentences == 1:
        # One sentence must carry the story, and openings are often scene-setting: the most
        # central of the first few eligible sentences, with a mild preference for earlier ones.
        head = eligible[:_ONE_SENTENCE_WINDOW]
        scores = _centrality_scores(sentences, eligible)
        order = sorted(head, key=lambda i: (-(scores[i] * (1 - _POSITION_DECAY * head.index(i))), i))
        chosen = _fit(sentences, order + eligible[len(head) :], 1, max_chars, window=len(eligible))
    else:
        chosen = _fit(sentences, eligible, max_sentences, max_chars, window=max_sentences + _LEAD_WINDOW)
    return [sentences[i] for i in sorted(chosen)]


def _fit(sentences: list[str], order: list[int], max_sentences: int, max_chars: int, *, window: int) -> list[int]:
    """Greedily take sentences in `order` while the joined length stays within `max_chars`.

    A sentence that opens with a pronoun ("She was later named as ...") comes with the sentence
    before it, or not at all: both must fit, in count and in length."""
    chosen: list[int] = []
    used = -1  # joining adds one space per sentence after the first
    for i in order[:window]:
        if len(chosen) >= max_sentences:
            break
        if i in chosen:
            continue
        unit = [i - 1, i] if i > 0 and i - 1 not in chosen and _POINTS_BACK.match(sentences[i]) else [i]
        cost = sum(1 + len(sentences[j]) for j in unit)
        if len(chosen) + len(unit) <= max_sentences and used + cost <= max_chars:
            chosen += unit
            used += cost
    if not chosen:
        fits = [i for i in order if len(sentences[i]) <= max_chars]
        chosen = [fits[0] if fits else order[0]]
    return chosen


def _words(s: str) -> list[str]:
    return _WORD.findall(s)


def _content(s: str) -> set[str]:
    # Five-letter prefixes stand in for stems: "agree"/"agreed", "cooperation"/"cooperate".
    return {w.lower()[:5] for w in _words(s) if w.lower() not in _STOP}


def _is_sentence(s: str) -> bool:
    words = _words(s)
    if len(words) < _MIN_WORDS or not _ENDS_LIKE_SENTENCE.search(s):
        return False
    letters = "".join(filter(str.isalpha, s))
    return not (letters and sum(map(str.isupper, letters)) > 0.6 * len(letters))


def _repeats_headline(s: str, title_words: set[str]) -> bool:
    words = _content(s)
    return bool(words and title_words) and len(words & title_words) >= _HEADLINE_OVERLAP * len(words)


def _weak_lead(sentences: list[str], title_words: set[str]) -> bool:
    """The opening is weak when most of its first three sentences are stubs, questions or datelines."""
    head = [s for s in sentences if not _repeats_headline(s, title_words)][:3]
    bad = sum(1 for s in head if not _is_sentence(s) or s.rstrip("\"'”’)] ").endswith("?"))
    return len(head) >= 2 and bad * 2 > len(head)


def _by_centrality(sentences: list[str], candidates: list[int]) -> list[int]:
    """Candidates ordered by mean word overlap with the other candidates, most central first."""
    bags = {i: _content(sentences[i]) for i in candidates}

    def centrality(i: int) -> float:
        if len(candidates) < 2 or not bags[i]:
            return 0.0
        total = sum(len(bags[i] & bags[j]) / len(bags[i] | bags[j]) for j in candidates if j != i and bags[j])
        return total / (len(candidates) - 1)

    prose = [i for i in candidates if not sentences[i].rstrip("\"'”’)] ").endswith("?")] or candidates
    return sorted(prose, key=lambda i: (-centrality(i), i))


def _centrality_scores(sentences: list[str], candidates: list[int]) -> dict[int, float]:
    """Each candidate's cosine with the whole text's content-word counts (itself left out)."""
    bags = {i: Counter(w.lower()[:5] for w in _words(sentences[i]) if w.lower() not in _STOP) for i in candidates}
    total: Counter[str] = Counter()
    for bag in bags.values():
        total.update(bag)
    scores = {}
    for i, bag in bags.items():
        rest = total - bag
        dot = sum(n * rest[w] for w, n in bag.items())
        norm = math.sqrt(sum(n * n for n in bag.values())) * math.sqrt(sum(n * n for n in rest.values()))
        scores[i] = dot / norm if norm else 0.0
    return scores
