"""Story features of one article for same-story clustering: weighted content terms and names.

Computed once per article at store time and kept as plain JSON (term -> log-scaled frequency), so
the clustering index can weight them by the document frequencies it sees. Pure, no I/O.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from bot.nlp.condense import _STOP

# Headlines carry the story: their terms count twice (measured on ECB+ and UCI dev).
TITLE_WEIGHT = 2.0
MAX_TERMS = 80
MAX_NAMES = 30
# Event identity sits in the lead; later paragraphs drift into background shared by similar events.
LEAD_WORDS = 400
# Two similar events (two DUI arrests at one club, two Doctor Who castings) share their common
# words and differ in names, numbers and dates: in the text, a capitalised word after a lower-case
# one and a number count this many times (measured on ECB+ dev; UCI headlines are unaffected).
SPECIFIC_WEIGHT = 4.0
_NAME_SCAN_CHARS = 4000

_EXTRA_STOP_WORDS = """s t mr mrs ms just more most one two new over up out like now get got also it's ve re ll d m
said says say told tell according reported report reports news"""
_EXTRA_STOP = frozenset(_EXTRA_STOP_WORDS.split())
_STOPS = _STOP | _EXTRA_STOP
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# Capitalised words after a lower-case word or comma are names, not sentence openers; title-case
# headlines are skipped on purpose (every word is capitalised there).
_NAME = re.compile(r"(?<=[a-z0-9,;:] )[A-Z][\w'’-]*(?: (?:[A-Z][\w'’-]*|of|de|van|von|al))*")
_INSIDE = re.compile(r"[a-z0-9,;:]")  # what precedes a capitalised word that is a name, not an opener
_SUFFIXES = ("ings", "ing", "ies", "es", "ed", "s")
_POSSESSIVE = re.compile(r"'s?$")  # "Microsoft's", "Saints'" are the name itself
# Capitalised inside a sentence but no name: dates and job titles are shared by unrelated events.
_NOT_NAMES = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may june july
august september october november december jan feb mar apr jun jul aug sep sept oct nov dec president
minister prime secretary chief director governor senator sen rep gov mayor judge king queen prince captain
general gen officer spokesman spokeswoman ceo chairman commissioner police inspector sheriff coach dr prof
st""".split()
)


@dataclass(frozen=True)
class StoryFeatures:
    terms: dict[str, float]  # stemmed content word -> 1 + log(weighted count)
    names: dict[str, float]  # lower-cased name word -> 1 + log(count)


def _stem(word: str) -> str:
    # A crude suffix strip is enough to join "rescues"/"rescued"; exactness does not matter here.
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _normal(word: str) -> str:
    low = word.lower().replace("’", "'")
    return _POSSESSIVE.sub("", low) if len(low) > 3 else low


@functools.lru_cache(maxsize=1 << 16)
def _term(word: str) -> str | None:
    """The stemmed term a word counts as, or None for a stop word or a single character.

    Memoised: news repeats its vocabulary, and this ran once per word of every article."""
    low = _normal(word)
    return _stem(low) if len(low) > 1 and low not in _STOPS else None


def _terms(text: str, limit: int | None = None) -> list[tuple[str, bool]]:
    """(stemmed term, specific) pairs; specific = a number, or a name inside a sentence."""
    out = []
    for n, w in enumerate(_WORD.finditer(text)):
        if limit is not None and n >= limit:
            break
        word = w.group()
        term = _term(word)
        if term is not None:
            start = w.start()
            specific = word[0].isdigit() or (
                word[0].isupper()
                and start >= 2
                and text[start - 1] == " "
                and _INSIDE.match(text[start - 2]) is not None
            )
            out.append((term, specific))
    return out


def story_features(title: str, text: str) -> StoryFeatures:
    counts: dict[str, float] = defaultdict(float)
    for t, _ in _terms(title):
        counts[t] += TITLE_WEIGHT
    extra: dict[str, float] = defaultdict(float)
    for t, specific in _terms(text, LEAD_WORDS):
        counts[t] += 1
        if specific:
            extra[t] += SPECIFIC_WEIGHT - 1
    names: Counter[str] = Counter()
    for m in _NAME.finditer(text[:_NAME_SCAN_CHARS]):
        for w in m.group().split():
            low = _normal(w)
            if w[0].isupper() and low not in _STOPS and low not in _NOT_NAMES:
                names[low] += 1
    # The kept terms are the most frequent ones; the weight only re-weights those, so a name
    # mentioned once does not push a story's repeated content words out.
    kept = sorted(counts, key=lambda t: (-counts[t], t))[:MAX_TERMS]
    return StoryFeatures(
        terms={t: round(1.0 + math.log(counts[t] + extra[t]), 3) for t in kept},
        names={t: round(1.0 + math.log(c), 3) for t, c in names.most_common(MAX_NAMES)},
    )
