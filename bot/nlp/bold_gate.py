"""Which extracted entities a digest may put in bold: names in English articles that the text
itself writes as names.

The extractors (bot.nlp.entities' rules, the optional English spaCy model) are made for English,
so an article in another language gets none (bot.nlp.language decides). And a one-word "name"
is kept only when the article gives evidence for it: capitalised somewhere a common word would
not be (mid-sentence), and never written in lower case as an ordinary word. That drops the
sentence-initial verbs and nouns ("Give", "Film") and the common words of a product or firm name
split apart ("List" of "Angie's List", which "will list on the Nasdaq"; "Touch" of "iPod Touch")
that would otherwise be bolded. This filter sits where enrichment calls the extractor; it keeps the extractor's ranking.

It is not the heuristic extractor's evidence rule (`bot.nlp.entities`) and stays apart on purpose:
it judges the ranked text of either extractor ("Calif.", "People.com" from spaCy) against the raw
text, and drops a brand's tail. Deciding with the extractor's token evidence instead changed 11
of 2,650 one-word decisions over the heuristic's output and 62 of 2,433 over spaCy's (ECB+ dev).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.models import KeyEntity
from bot.nlp.language import is_english

# a position where any word is capitalised: the text's start, after a sentence end, a colon, a
# line break or an opening quote or bracket
_SENTENCE_START = re.compile(r"(?:^|[.!?:;…]\s+|\n\s*|[\"'“‘(\[«—–-]\s*)$")
# a lower-case brand with capitals inside ("iPod", "eBay") right before: the word is that name's tail
_BRAND_BEFORE = re.compile(r"(?<![\w-])[a-z]+[A-Z][\w]*\s+$")


def highlightable(title: str, text: str, rank: Callable[[], Sequence[KeyEntity]]) -> list[KeyEntity]:
    """The entities `rank()` finds worth bolding, in its order; for an article not in English,
    none (and the extractor is not run)."""
    if not is_english(title, text):
        return []
    return [e for e in rank() if _is_name(e.text, text)]


def _is_name(name: str, text: str) -> bool:
    if " " in name.strip() or not text or _is_acronym(name):
        return True  # a run of words, or an acronym, or nothing to check against: as extracted
    word = re.escape(name)
    if re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", text) and name.lower() != name:
        return False  # the article uses it as an ordinary word
    for m in re.finditer(rf"(?<![\w-]){word}(?![\w-])", text):
        before = text[max(0, m.start() - 40) : m.start()]
        if _SENTENCE_START.search(before[-4:]) or _BRAND_BEFORE.search(before):
            continue  # any word is capitalised there, or it is the tail of a name like "iPod Touch"
        return True  # capitalised where only a name would be
    return False


def _is_acronym(name: str) -> bool:
    letters = [c for c in name if c.isalpha()]
    return len(letters) >= 2 and sum(c.isupper() for c in letters) >= 2
