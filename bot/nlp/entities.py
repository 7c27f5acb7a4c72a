"""Fast heuristic named-entity extraction, and the choice of extractor.

`extract_entities` chunks capitalised token runs (with name connectors, split at possessives and
job titles) and labels them PER/ORG/LOC/MISC from word cues and the gazetteer in `bot.nlp.lexicon`.
Pure, no I/O. `get_extractor` picks the extractor by name (`digest.entities`): this one, or the
optional spaCy backend in `bot.nlp.entities_spacy`; `bot.nlp.salience` ranks the output of either.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple

from bot.errors import ConfigError
from bot.models import Entity
from bot.nlp.entities_spacy import spacy_extractor  # imports spaCy only when a pipeline is first loaded
from bot.nlp.lexicon import (
    COMMON,
    COMPANY_SUFFIXES,
    CORE_TITLES,
    FIRST_NAMES,
    KNOWN_ORGS,
    LOC_WORDS,
    MISC_WORDS,
    NAME_PARTICLES,
    NATIONALITIES,
    OF_HEADS,
    ORG_WORDS,
    PLACE_ACRONYMS,
    PLACES,
    TEMPORAL,
    TITLE_MODIFIERS,
    TITLES,
    WELL_KNOWN_ACRONYMS,
)
from bot.nlp.not_prose import not_prose, overlaps_any
from bot.nlp.tokens import Tok, is_acronym, is_cap, tokenize

Extractor = Callable[[str], list[Entity]]
EXTRACTORS = ("heuristic", "spacy")  # the values `digest.entities` accepts; the first is the default


class _Evidence(NamedTuple):
    """What the rest of the text says about a word: seen in lower case, seen capitalised mid-sentence."""

    lower: set[str]
    caps: set[str]
    table_rows: set[int]  # where a word opening a line is followed by figures: a table's first cell


def extract_entities(text: str, *, known: frozenset[str] = frozenset()) -> list[Entity]:
    """Named entities in `text`, in order, labelled PER, ORG, LOC or MISC.

    A lone capitalised word opening a sentence is a name only with evidence: the lexicons know
    it, it is an acronym, or it is capitalised mid-sentence elsewhere in `text` or in `known`
    (the capitalised words of the article's title, say).
    """
    toks = tokenize(text)
    masked = not_prose(text)
    if masked:
        toks = [t for t in toks if not overlaps_any(masked, t.start, t.start + 1)]
    ev = _Evidence(
        {t.text for t in toks if t.text[:1].islower()},
        {t.text for t in toks if not t.initial and not t.shout and is_cap(t)} | known,
        {a.end for a, b in itertools.pairwise(toks) if a.initial and b.start == a.end + 1 and b.text[0].isdigit()},
    )
    ents: list[Entity] = []
    i = 0
    while i < len(toks):
        if toks[i].shout:
            # ALL-CAPS headlines and datelines: only names the lexicons know are trusted.
            n, label = _known_name(toks, i)
            if n:
                ents.append(
                    Entity(text[toks[i].start : toks[i + n - 1].end], label, toks[i].start, toks[i + n - 1].end)
                )
            i += max(n, 1)
            continue
        if not _starts_run(toks, i, ev.lower) and not (is_cap(toks[i]) and _known_name(toks, i)[0]):
            i += 1
            continue
        j = i + 1
        while j < len(toks):
            if _continues_run(toks[j]) and not _is_break(toks[j]) and _adjacent(text, toks[j - 1], toks[j]):
                j += 1
            elif _is_connector(toks, i, j):
                j += 2 if toks[j + 1].low != "the" else 3
            elif _joins_suffix(toks, j):
                j += 2  # "Traders’ Association", "Acme, Inc."
            else:
                break
        ents.extend(_split_run(text, toks[i:j], ev))
        i = j
    return _resolve_singletons(ents)


def _adjacent(text: str, a: Tok, b: Tok) -> bool:
    # a name never runs across a line break, a masked URL or mention, or a double space
    return b.start == a.end or (b.start - a.end == 1 and text[a.end] != "\n")


def _joins_suffix(toks: list[Tok], j: int) -> bool:
    """A plural possessive before an organisation word, or a comma before a company suffix, inside one name."""
    if j + 1 >= len(toks) or not _continues_run(toks[j + 1]):
        return False
    mark, nxt, prev = toks[j], toks[j + 1], toks[j - 1]
    if mark.start != prev.end or nxt.start - mark.end != 1:
        return False
    if mark.text in ("'", "’"):
        return prev.text.endswith("s") and nxt.low in ORG_WORDS
    return mark.text == "," and nxt.low in COMPANY_SUFFIXES


def _known_name(toks: list[Tok], i: int) -> tuple[int, str]:
    """Length and label of the longest lexicon name starting at token i ("New Zealand", "NEW YORK")."""
    for n in range(min(4, len(toks) - i), 0, -1):
        part = toks[i : i + n]
        if any(not t.text[0].isalpha() for t in part) or any(b.start - a.end > 1 for a, b in itertools.pairwise(part)):
            continue
        key = " ".join(t.low for t in part)
        if n == 1 and not part[0].text[0].isupper():
            return 0, ""
        if key in PLACES or (part[0].text in PLACE_ACRONYMS and n == 1):
            return n, "LOC"
        if key in NATIONALITIES:
            return n, "MISC"
        if key in KNOWN_ORGS or (n == 1 and part[0].text in WELL_KNOWN_ACRONYMS):
            return n, "ORG"
    return 0, ""


def _starts_run(toks: list[Tok], i: int, lower_words: set[str]) -> bool:
    tok = toks[i]
    if not is_cap(tok) or _is_break(tok):
        return False
    low = tok.low
    if tok.text.isupper() and len(tok.text) > 1 and low in COMMON and tok.text not in PLACE_ACRONYMS:
        return False
    if not tok.initial or low not in lower_words or low in COMMON:
        return not (tok.initial and low in COMMON)
    # an ordinary word opening a sentence, unless a longer name starts with it ("Island Ferries Ltd")
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    return (
        nxt is not None
        and nxt.start - tok.end == 1
        and _continues_run(nxt)
        and not _is_break(nxt)
        and not nxt.text.isupper()
        and _has_org_cue(_run_from(toks, i + 1))
    )


def _run_from(toks: list[Tok], i: int) -> list[Tok]:
    j = i
    while j < len(toks) and _continues_run(toks[j]) and (j == i or toks[j].start - toks[j - 1].end <= 1):
        j += 1
    return toks[i:j]


def _continues_run(tok: Tok) -> bool:
    return is_cap(tok) and tok.low not in {"i", "the", "a", "an"}


def _is_break(tok: Tok) -> bool:
    return tok.low in TEMPORAL or tok.text == "I"


def _is_connector(toks: list[Tok], i: int, j: int) -> bool:
    """'of'/'for'/'&'/name particles join two capitalised parts of one name."""
    word = toks[j].low
    nxt = j + 1
    if word in ("of", "for") and nxt < len(toks) and toks[nxt].low == "the":
        nxt += 1
    if nxt >= len(toks) or not _continues_run(toks[nxt]) or _is_break(toks[nxt]):
        return False
    if toks[nxt].start - toks[j].end > 1 or toks[j].start - toks[j - 1].end > 1:
        return False
    if word == "&":
        return True
    if word in ("of", "for"):
        return any(t.low in OF_HEADS for t in toks[i:j]) and toks[j].text.islower()
    return word in NAME_PARTICLES and toks[j].text.islower() and nxt == j + 1


def _split_run(text: str, run: list[Tok], ev: _Evidence) -> list[Entity]:
    """Split a capitalised run at job titles: 'U.S. President Joe Biden' -> U.S. + Joe Biden."""
    out: list[Entity] = []
    k = 0
    while k < len(run):
        if run[k].low in CORE_TITLES or run[k].low in TITLE_MODIFIERS:
            m = k
            while m < len(run) and (run[m].low in TITLES or run[m].low in TITLE_MODIFIERS or _title_of(run, m)):
                m += 1
            block = {t.low for t in run[k:m]}
            is_title = bool(block & CORE_TITLES) or ({"secretary", "general"} <= block)
            if is_title and (m < len(run) or k == 0) and not _has_org_cue(run[m:]):
                if k > 0:
                    out.extend(_label(text, run[:k], None, ev))
                if m < len(run):
                    out.extend(_label(text, run[m:], "PER", ev))
                return out
        k += 1
    return _label(text, run, None, ev)


def _title_of(run: list[Tok], m: int) -> bool:
    """'of'/'the' inside a title: "Secretary of State", "Minister of the Interior"."""
    if run[m].low not in ("of", "the") or m + 1 >= len(run):
        return False
    nxt = run[m + 1] if run[m + 1].low != "the" or m + 2 >= len(run) else run[m + 2]
    return nxt.low in TITLE_MODIFIERS or nxt.low in TITLES


def _has_org_cue(run: list[Tok]) -> bool:
    return any(t.low in ORG_WORDS for t in run)


def _label(text: str, run: list[Tok], forced: str | None, ev: _Evidence) -> list[Entity]:
    while run and (run[-1].low in ("of", "for", "the", "&") or run[-1].low in NAME_PARTICLES):
        run = run[:-1]
    if not run:
        return []
    start, end = run[0].start, run[-1].end
    surface = text[start:end]
    if forced:
        return [Entity(surface, forced, start, end)]
    if len(run) == 1 and (len(surface) == 1 or (run[0].initial and not _proven(run[0], ev))):
        return []
    return [Entity(surface, _guess_label(surface, run), start, end)]


def _proven(tok: Tok, ev: _Evidence) -> bool:
    """Whether a lone capitalised word opening a sentence has evidence of being a name.

    Capitals there say nothing ("Read", "Please", "Watch"): the word must be in the lexicons,
    an acronym, or capitalised somewhere no sentence starts.
    """
    low = tok.low
    if low in PLACES or low in KNOWN_ORGS or low in NATIONALITIES or low in FIRST_NAMES:
        return True
    if is_acronym(tok.text) or tok.end in ev.table_rows:
        return True
    return tok.text in ev.caps and low not in ev.lower


def _guess_label(surface: str, run: list[Tok]) -> str:
    low = surface.lower()
    words = [t.low for t in run]
    last = words[-1]
    if surface in PLACE_ACRONYMS or low in PLACES:
        return "LOC"
    if low in KNOWN_ORGS or words[0] in KNOWN_ORGS:
        return "ORG"
    if low in NATIONALITIES or (last in NATIONALITIES and len(run) <= 2):
        return "MISC"
    if last in ORG_WORDS:
        return "ORG"
    if last in MISC_WORDS:
        return "MISC"
    if any(w in ORG_WORDS for w in words):
        return "ORG"
    if last in LOC_WORDS or words[0] in ("mount", "lake", "cape", "port", "gulf", "isle"):
        return "LOC"
    if all(is_acronym(t.text) for t in run):
        return "ORG"
    if words[0] in FIRST_NAMES:
        return "PER"
    if any(w in PLACES or w in KNOWN_ORGS for w in words):
        return "ORG"  # "China Dream", "Google Maps": a name built on a known one is no person
    if len(run) >= 2 and all(t.text[0].isupper() and (not t.text.isupper() or len(t.text) <= 2) for t in run):
        return "PER"
    return "ORG" if len(run) >= 2 else _SINGLE_DEFAULT


# An unknown lone capitalised word: places are mostly caught by the gazetteer, so what is left is
# mostly companies, clubs and bodies (on CoNLL-2003 dev, ORG here beats LOC by 5 F1 and PER by 7).
_SINGLE_DEFAULT = "ORG"


def _resolve_singletons(ents: list[Entity]) -> list[Entity]:
    """A lone word that repeats part of a person's name is that person ("Jenssen")."""
    parts: set[str] = set()
    for e in ents:
        if e.label == "PER" and " " in e.text:
            names = e.text.split()
            parts.update((names[0], names[-1]))
    known = PLACES | NATIONALITIES | KNOWN_ORGS
    return [
        Entity(e.text, "PER", e.start, e.end)
        if e.text in parts and e.label != "PER" and e.text.lower() not in known
        else e
        for e in ents
    ]


def get_extractor(name: str) -> Extractor:
    """The entity extractor called `name` (one of EXTRACTORS); ConfigError if unknown or not installed.

    "spacy" is checked here (spaCy and a model importable) but its weights load on first use, so
    choosing it costs nothing until an article is enriched.
    """
    key = name.strip().lower()
    if key == "heuristic":
        return extract_entities
    if key == "spacy":
        return spacy_extractor()
    raise ConfigError("digest.entities", f"{name!r} is not one of {', '.join(EXTRACTORS)}")
