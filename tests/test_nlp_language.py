"""Language detection and its gate on entity highlighting: English rules only on English text."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import DigestSettings
from bot.enrich import enrich
from bot.models import FeedItem, KeyEntity
from bot.nlp.bold_gate import highlightable
from bot.nlp.language import detect, is_english

GERMAN = (
    "Die Bundesregierung hat am Mittwoch einen neuen Haushaltsentwurf vorgelegt. Die Ausgaben für Bildung "
    "und Forschung sollen im kommenden Jahr deutlich steigen, während die Verteidigung weniger Geld bekommt."
)
PORTUGUESE = (
    "O governo anunciou nesta quarta-feira um novo plano para a educação. As escolas públicas vão receber "
    "mais recursos a partir do próximo ano, segundo o ministro, que falou com jornalistas em Brasília."
)
ENGLISH = (
    "The Harbor City council voted on Thursday to build a bus rapid transit line along Marlow Avenue. "
    "Mayor Elena Ruiz said the line would cut the trip from the university to the ferry terminal."
)


def test_detects_the_language_of_an_article() -> None:
    for text, code in ((GERMAN, "de"), (PORTUGUESE, "pt"), (ENGLISH, "en")):
        found = detect("", text)
        assert found is not None and found[0] == code and found[1] > 0.9, (code, found)


def test_too_short_or_unsure_text_counts_as_english() -> None:
    assert detect("v3.9.0", "") is None
    assert is_english("v3.9.0", "")
    assert is_english("Show HN", "")
    assert not is_english("Neuer Haushalt", GERMAN)
    assert is_english("Council approves bus line", ENGLISH)


def item(title: str, text: str) -> FeedItem:
    return FeedItem(guid=title, url=None, title=title, text=text, published=datetime(2026, 11, 27, tzinfo=UTC))


def test_entities_are_extracted_for_english_articles_only() -> None:
    settings = DigestSettings()
    assert {e["text"] for e in enrich(item("Council approves bus line", ENGLISH), settings).entities} >= {
        "Harbor City",
        "Elena Ruiz",
    }
    # German nouns are capitalised: the English rules would bold "Bundesregierung", "Ausgaben", ...
    assert enrich(item("Neuer Haushaltsentwurf", GERMAN), settings).entities == []
    assert enrich(item("Novo plano para a educação", PORTUGUESE), settings).entities == []
    # the summary is still made
    assert enrich(item("Neuer Haushaltsentwurf", GERMAN), settings).summary


def test_only_names_the_text_writes_as_names_are_bolded() -> None:
    text = (
        "It's an old adage about chance: Give a million monkeys a million typewriters. "
        "Film producer Surinder Kapoor said the Angie's List filing would list the firm on the Nasdaq. "
        "The app runs on the iPod Touch, and Kapoor said Nasdaq traders liked it. NASA agreed."
    )
    ranked = [
        KeyEntity(name, "ORG", 1.0)
        for name in ("Give", "Film", "List", "Touch", "Surinder Kapoor", "Kapoor", "Nasdaq", "NASA")
    ]
    kept = [e.text for e in highlightable("Monkeys and typewriters", text, lambda: ranked)]
    assert kept == ["Surinder Kapoor", "Kapoor", "Nasdaq", "NASA"]
    ran = []
    assert highlightable("Neuer Haushaltsentwurf", GERMAN, lambda: ran.append(1) or ranked) == []
    assert ran == []  # the English extractor does not even run on a German article
