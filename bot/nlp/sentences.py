"""Rule-based sentence splitting tuned for news prose.

Splits at . ! ? and ellipses (with trailing quotes/brackets), guarded by news abbreviation
lists (titles, months, U.S.-style acronyms, a.m./p.m., No. 2, initials). Never crosses a blank
line; a single line break ends a sentence unless the text plainly continues. No I/O, stdlib only.
"""

from __future__ import annotations

import itertools
import re


def _set(block: str) -> frozenset[str]:
    return frozenset(block.split())


# Always followed by a name: a period after these never ends a sentence.
_TITLES = _set(
    """mr mrs ms messrs mme mlle dr prof gen lt col maj capt cmdr cmdt adm brig sgt cpl pvt sen rep gov
    pres supt insp det rev fr msgr hon atty amb st mt ft"""
)
# Never end a sentence, whatever follows.
_NEVER = _set("vs v e.g i.e cf viz approx ca al")
# Followed by a number: "No. 2", "Jan. 5", "Fig. 3".
_BEFORE_NUMBER = _set(
    "no nos nr fig figs art vol vols p pp ch sec ed est jan feb mar apr jun jul aug sep sept oct nov dec"
)
# Month abbreviations end a sentence only when no day number follows.
_MONTHS = _set("jan feb mar apr jun jul aug sep sept oct nov dec")
# Company/name suffixes and U.S. state abbreviations often end sentences but usually do not:
# split after them only when a typical sentence opener follows.
_AMBIGUOUS = _set(
    """inc corp co ltd plc llc bros jr sr etc dept univ assn ave blvd rd
    ala ariz ark calif colo conn del fla ga ill ind kan ky la md mass mich minn miss mo mont neb nev okla
    ore pa tenn tex va vt wash wis wyo"""
)
_TIME_FOLLOWERS = _set(
    """et est edt ct cst cdt mt mst mdt pt pst pdt gmt utc bst cet cest jst eastern pacific central mountain local
    monday tuesday wednesday thursday friday saturday sunday"""
)
# Words that typically open an English sentence; used where the preceding period is ambiguous.
_STARTERS = _set(
    """a an the he she it they we i you his her its their our my this that these those there here
    but and or so yet if when while after before as at in on for by with from to of since although though
    despite during however meanwhile also still then now today yesterday tomorrow earlier later last next
    some many most all both each every no not one two three what who why how where which what's it's
    according officials police authorities shares analysts"""
)

_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")
# A terminator run with any closing quotes/brackets, followed by whitespace.
_TERMINATOR = re.compile(r"(?:\.\.\.|…|[.!?])+[\"'”’»)\]]*(?=\s)")
_OPENERS = "\"'“‘«([ "
_CONTINUE_END = re.compile(r"[,;:(\-–—&/]$")
_CONTINUE_START = re.compile(r"^[a-z,;:)\]\-–—%]")
_INITIAL = re.compile(r"^[A-Z]$")
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence in `text`, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for brk in _PARAGRAPH.finditer(text):
        spans.extend(_paragraph_spans(text, pos, brk.start()))
        pos = brk.end()
    spans.extend(_paragraph_spans(text, pos, len(text)))
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, in order, as substrings."""
    return [text[s:e] for s, e in sentence_spans(text)]


def _paragraph_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    cuts: set[int] = set()
    para = text[start:end]
    for m in _TERMINATOR.finditer(para):
        if _ends_sentence(para, m):
            cuts.add(start + m.end())
    # A line break inside a paragraph is a boundary unless the text plainly runs on
    # (hard-wrapped prose); feed text usually has one paragraph or list item per line.
    offset = start
    lines = para.split("\n")
    for prev, nxt in itertools.pairwise(lines):
        offset += len(prev) + 1
        left, right = prev.rstrip(), nxt.lstrip()
        if left and right and not _CONTINUE_END.search(left) and not _CONTINUE_START.match(right):
            cuts.add(offset - 1)
    spans: list[tuple[int, int]] = []
    pos = start
    for cut in [*sorted(cuts), end]:
        trimmed = _trim(text, pos, cut)
        if trimmed:
            spans.append(trimmed)
        pos = cut
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _ends_sentence(para: str, m: re.Match[str]) -> bool:
    rest = para[m.end() :].lstrip()
    if not rest:
        return True
    nxt = rest.lstrip(_OPENERS)
    if not nxt:
        return False
    next_word = re.split(r"[\s,;:.!?]", nxt, maxsplit=1)[0]
    first = nxt[0]
    punct = m.group().rstrip("\"'”’»)]")
    if "!" in punct or "?" in punct or "…" in punct or punct.endswith(".."):
        # Exclamations, questions and ellipses end a sentence only before a capital:
        # '"Why?" he asked' and 'the ... thing' continue.
        return first.isupper() or first.isdigit()
    if not (first.isupper() or first.isdigit()):
        return False
    token = para[: m.start() + 1].rsplit(None, 1)[-1].lstrip(_OPENERS)
    word = token[:-1]
    low = word.lower()
    if low in _TITLES and word[:1].isupper():
        return False
    if low in _NEVER:
        return False
    if first.isdigit() and low in _BEFORE_NUMBER:
        return False
    if low in _MONTHS:
        return True
    if low in ("a.m", "p.m"):
        return next_word.lower() not in _TIME_FOLLOWERS
    if _INITIAL.match(word) or low in _AMBIGUOUS or _DOTTED.match(word):
        return next_word.lower() in _STARTERS
    return True
