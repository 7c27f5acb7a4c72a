"""Word tokens for the heuristic entity extractor, each marked where capitals say nothing.

A token knows whether it opens a sentence, line or quotation (`initial`) and whether it sits in an
ALL-CAPS sentence (`shout`): there any word is capitalised, so a capital is no evidence of a name.
Possessives and hyphenated tails ("Taliban-controlled") are split off the name they follow.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from bot.nlp.lexicon import HYPHEN_TAILS
from bot.nlp.sentences import sentence_spans

# Tokens: dotted acronyms (U.S.), initials before a capital (J. K.), words with inner hyphens or
# apostrophes (Kyung-hyup, O'Brien, al-Qaeda), numbers, and any other single character.
_TOKEN = re.compile(
    r"(?:[A-Za-z]\.){2,}(?![A-Za-z])"
    r"|[A-Z]\.(?=\s+[A-Z])"
    r"|[^\W\d_](?:\w|[-'’&](?=\w))*"
    r"|\d(?:[\d,.:/]*\d)?\w*"
    r"|\S"
)
_OPENING = frozenset("\"'“‘«([{—–-:")  # what may come right before a sentence-like start


class Tok(NamedTuple):
    # a tuple, not a dataclass: an article makes thousands, and a frozen dataclass's
    # __init__ took a third of the extractor's time (measured)
    text: str
    start: int
    end: int
    initial: bool  # opens a sentence, line or quotation
    shout: bool = False  # inside an ALL-CAPS sentence, where capitals say nothing

    @property
    def low(self) -> str:
        return self.text.lower()


def tokenize(text: str) -> list[Tok]:
    spans = sentence_spans(text)
    starts = {s for s, _ in spans}
    toks: list[Tok] = []
    append = toks.append
    fresh = True  # next word token opens a sentence, line or quote
    for m in _TOKEN.finditer(text):
        word, start = m.group(), m.start()
        if start in starts or (start > 0 and text[start - 1] == "\n"):
            fresh = True
        first = word[0]
        if not (first.isalpha() or first.isdigit()):
            append(Tok(word, start, m.end(), False))
            fresh = fresh or word in _OPENING
            continue
        whole = word
        if len(word) > 2 and word[-2] in "'’" and word[-1] in "sS":
            word = word[:-2]
        elif first.isupper() and ("'" in word or "’" in word):
            # a quote run into the next word where the source lost a space ("Gray'didn", "Kimani'Kiki");
            # short heads are names of their own ("O'Brien", "Ka'Loni")
            cut = next(k for k, c in enumerate(word) if c in "'’")
            tail = word[cut + 1 :]
            if cut >= 4 and (tail[:1].isupper() or len(tail) >= 3):
                word = word[:cut]
        if "-" in word:
            head, _, tail = word.rpartition("-")
            if head and head[0].isupper() and tail.islower() and (tail in HYPHEN_TAILS or tail.endswith("ed")):
                word = head  # "Taliban-controlled" names the Taliban
        append(Tok(word, start, start + len(word), fresh))
        if len(word) < len(whole):
            append(Tok(whole[len(word) :], start + len(word), m.end(), False))
        fresh = False
    return _mark_shouting(text, spans, toks)


def _mark_shouting(text: str, spans: list[tuple[int, int]], toks: list[Tok]) -> list[Tok]:
    loud: list[tuple[int, int]] = []
    for s, e in spans:
        chunk = text[s:e]
        if not any(c.islower() for c in chunk) and sum(c.isupper() for c in chunk) >= 2:
            loud.append((s, e))
    if not loud:
        return toks
    return [Tok(t.text, t.start, t.end, t.initial, any(s <= t.start < e for s, e in loud)) for t in toks]


def is_cap(tok: Tok) -> bool:
    t = tok.text
    first = t[0]
    if first == "a" or first == "e":  # "al-Assad", "el-Sisi"
        return t.startswith(("al-", "el-")) and len(t) > 3 and t[3].isupper()
    return first.isupper() and first.isalpha()


def is_acronym(t: str) -> bool:
    letters = t.replace(".", "").replace("&", "")
    return len(letters) >= 2 and letters.isalpha() and letters.isupper()
