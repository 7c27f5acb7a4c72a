"""Which language an article is in, so steps made for English (the entity rules and the English
spaCy model that pick what a digest puts in bold) run only where they work.

py3langid (a maintained fork of langid.py: a naive Bayes model over byte n-grams for 97
languages, shipped inside the package, no download) scores the title and the start of the text;
docs/decisions.md says why it and not another. Short or mixed text is often unsure, and an unsure
text is treated as English: the English rules are what newsbot always ran, and they find little
in a headline of a few words anyway.
"""

from __future__ import annotations

from functools import cache
from typing import Any

ENGLISH = "en"
SURE = 0.5  # the detector's probability above which a language other than English is believed
_SAMPLE_CHARS = 3000  # the title and the start of the text say enough; the rest costs time
_MIN_LETTERS = 12  # below this nothing is said about the language


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # loads a 4 MB model: once, on first use

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(title: str, text: str) -> tuple[str, float] | None:
    """(ISO 639-1 code, probability) of the article's language, or None when it has too few letters."""
    sample = f"{title}\n{text}"[:_SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < _MIN_LETTERS:
        return None
    code, probability = _identifier().classify(sample)
    return str(code), float(probability)


def is_english(title: str, text: str) -> bool:
    """False only when the article is, with some confidence, in another language than English."""
    found = detect(title, text)
    return found is None or found[0] == ENGLISH or found[1] < SURE
