"""Follow-ups: has a story the channel was already told moved enough to be told again, and with what?

Pure functions over stored articles. A story was told at some moment (its last digest); the articles
first seen after that are the new ones. What the channel knows is the titles and summary sentences
of the articles known then, plus the sentences of earlier follow-ups. A new sentence is one of the
new articles' summary sentences whose words are mostly not in any known sentence; new facts are
names and numbers in those sentences that the known text never mentions; new outlets are sources
the story did not have. Worth telling: at least one new sentence, and a new fact or a jump in
outlets; a new sentence naming a followed topic is enough on its own. A wire story re-sent by more
outlets brings no new sentence and stays quiet. Thresholds are measured in benchmarks/quality.py
(`--only followups`) and recorded in docs/decisions.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.store.rows import StoredArticle

# A sentence is new when at most this share of its content words appear in any one known sentence.
NOVEL_OVERLAP = 0.5
# New outlets that make a story worth telling again even without a new name or number.
OUTLET_JUMP = 3
MAX_SENTENCES = 2  # an update says one or two new things, not the whole article
MIN_WORDS = 4  # shorter "sentences" (datelines, bylines) say nothing new

_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\d|(?<![\w.])\d(?![\w])")
_STOP = frozenset(
    """a about after again against all also am an and any are as at be because been before being between both
    but by can could did do does doing down during each few for from further had has have having he her here
    hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or
    other our out over own said same says she should so some such than that the their them then there these
    they this those through to too under until up very was we were what when where which while who whom why
    will with would you your told according""".split()
)


@dataclass(frozen=True)
class FollowUp:
    """What is new of a story since it was told, when it is worth telling."""

    story_id: int
    article_ids: tuple[int, ...]  # the new articles
    sentences: tuple[str, ...]
    facts: tuple[str, ...]
    outlets: tuple[str, ...]


def content_words(text: str) -> frozenset[str]:
    """The lower-cased words of a text that carry meaning (no stop words, no one-letter words)."""
    return frozenset(w for w in (m.casefold() for m in _WORD.findall(text)) if len(w) > 1 and w not in _STOP)


def overlap(sentence: frozenset[str], known: frozenset[str]) -> float:
    """The share of `sentence`'s words found in `known` (0 for an empty sentence)."""
    return len(sentence & known) / len(sentence) if sentence else 0.0


def max_overlap(sentence: str, known: Iterable[frozenset[str]]) -> float:
    words = content_words(sentence)
    return max((overlap(words, k) for k in known), default=0.0)


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def split_known_new(
    articles: Sequence[StoredArticle], told_at: datetime
) -> tuple[list[StoredArticle], list[StoredArticle]]:
    """The story's articles the channel could know of when it was told, and those first seen later."""
    known = [a for a in articles if a.first_seen_at <= told_at]
    new = [a for a in articles if a.first_seen_at > told_at]
    return known, new


def detect(
    story_id: int,
    known: Sequence[StoredArticle],
    new: Sequence[StoredArticle],
    *,
    earlier: Sequence[str] = (),
    follows: Sequence[str] = (),
    novel_overlap: float = NOVEL_OVERLAP,
    outlet_jump: int = OUTLET_JUMP,
) -> FollowUp | None:
    """The follow-up for these new articles of a told story, or None when they bring nothing new.

    `earlier` holds sentences already posted in earlier follow-ups of the story."""
    if not new or not known:
        return None
    known_texts = [a.title for a in known] + [s for a in known for s in a.summary] + list(earlier)
    known_sets = [content_words(t) for t in known_texts]
    known_words = frozenset().union(*known_sets)
    known_numbers = set().union(*(numbers(t) for t in known_texts))
    known_folded = " ".join(known_texts).casefold()
    entities = _entities(new)

    chosen: list[tuple[int, int, str, tuple[str, ...]]] = []  # (-facts, order, sentence, facts)
    order = 0
    for article in new:
        for sentence in article.summary:
            order += 1
            words = content_words(sentence)
            if len(words) < MIN_WORDS or max((overlap(words, k) for k in known_sets), default=0.0) > novel_overlap:
                continue
            if any(max_overlap(sentence, [content_words(c[2])]) > novel_overlap for c in chosen):
                continue  # two outlets saying the same new thing: once is enough
            facts = _facts(sentence, entities, known_folded, known_words, known_numbers)
            chosen.append((-len(facts), order, sentence, facts))
    if not chosen:
        return None
    chosen.sort()
    picked = chosen[:MAX_SENTENCES]
    facts = tuple(dict.fromkeys(f for c in picked for f in c[3]))
    old_sources = {a.source for a in known}
    outlets = tuple(dict.fromkeys(a.source for a in new if a.source not in old_sources))
    # a followed topic named in what is new: the new sentence alone is worth telling
    said = " ".join(c[2] for c in picked).casefold()
    followed = any(f.casefold() in said for f in follows if f.strip())
    if not (facts or len(outlets) >= outlet_jump or followed):
        return None
    # the sentences in the order the articles gave them, so the update reads as written
    sentences = tuple(c[2] for c in sorted(picked, key=lambda c: c[1]))
    return FollowUp(story_id, tuple(a.id for a in new), sentences, facts, outlets)


def _entities(articles: Sequence[StoredArticle]) -> list[str]:
    names: dict[str, None] = {}
    for article in articles:
        for e in article.entities:
            names[str(e["text"])] = None
    return list(names)


def _facts(
    sentence: str, entities: Sequence[str], known_folded: str, known_words: frozenset[str], known_numbers: set[str]
) -> tuple[str, ...]:
    """Names and numbers of the sentence that the known text never mentions."""
    folded = sentence.casefold()
    found: list[str] = []
    for name in entities:
        key = name.casefold()
        if key in folded and key not in known_folded and not content_words(name) <= known_words:
            found.append(name)
    found += [n for n in sorted(numbers(sentence)) if n not in known_numbers and not _is_year(n)]
    return tuple(dict.fromkeys(found))


def _is_year(number: str) -> bool:
    # "in 2014" is context, not news
    return len(number) == 4 and number.isdigit() and number[:2] in ("19", "20")
