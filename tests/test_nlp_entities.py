"""Heuristic entity extraction and per-article ranking with alias merging."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.models import Entity
from bot.nlp.entities import EXTRACTORS, extract_entities, get_extractor
from bot.nlp.salience import rank_entities

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
BOILERPLATE = ("Spread the love", "READ ALSO:", "Leave a Reply")
SEED_TITLE = "NATO and South Korea agree to increase global cooperation"


def seed_text() -> str:
    raw = (SEEDS / "nato-south-korea.txt").read_text(encoding="utf-8")
    return "\n".join(line for line in raw.splitlines() if not line.strip().startswith(BOILERPLATE))


def pairs(text: str) -> list[tuple[str, str]]:
    return [(e.text, e.label) for e in extract_entities(text)]


def test_spans_index_into_unchanged_text() -> None:
    text = "Kim Kyung-hyup met Stian Jenssen in Brussels.\n\nNATO’s chief visited Seoul."
    ents = extract_entities(text)
    assert ents, "expected entities"
    for e in ents:
        assert isinstance(e, Entity)
        assert text[e.start : e.end] == e.text


def test_titles_are_stripped_from_people() -> None:
    assert pairs("U.S. President Joe Biden has set a deadline.") == [("U.S.", "LOC"), ("Joe Biden", "PER")]
    assert ("Antony Blinken", "PER") in pairs("He met Secretary of State Antony Blinken on Monday.")


def test_curly_possessives_split_names() -> None:
    text = "He chairs South Korea’s National Assembly’s Intelligence Committee."
    assert pairs(text) == [("South Korea", "LOC"), ("National Assembly", "ORG"), ("Intelligence Committee", "ORG")]


def test_connectors_hyphens_and_acronyms() -> None:
    got = pairs("Talks between NATO and the Republic of Korea and the Bank of England involved Kim Kyung-hyup.")
    assert got == [("NATO", "ORG"), ("Republic of Korea", "LOC"), ("Bank of England", "ORG"), ("Kim Kyung-hyup", "PER")]


def test_sentence_initial_words_weekdays_and_months_are_not_entities() -> None:
    text = "During the visit, talks began. The two sides met on Thursday. On September 11, officials spoke."
    assert pairs(text) == []


def test_labels_from_cues() -> None:
    got = dict(pairs("Afghan forces left Kabul after the World Health Organization and Reuters reported it."))
    assert got == {"Afghan": "MISC", "Kabul": "LOC", "World Health Organization": "ORG", "Reuters": "ORG"}


def test_lone_surname_takes_the_persons_label() -> None:
    got = pairs("Stian Jenssen met officials.\n\nJenssen also said he was pleased.")
    assert got == [("Stian Jenssen", "PER"), ("Jenssen", "PER")]


def test_rank_merges_acronyms_surnames_possessives_and_case() -> None:
    title = "NATO envoy meets Korean lawmakers"
    text = (
        "Stian Jenssen of the North Atlantic Treaty Organization met lawmakers in Seoul. "
        "Jenssen said NATO’s door was open. NATO will help. Officials in Seoul agreed with Jenssen."
    )
    ranked = rank_entities(title, text)
    by_text = {k.text: k for k in ranked}
    assert "NATO" in by_text and "North Atlantic Treaty Organization" in by_text["NATO"].aliases
    assert by_text["NATO"].mentions == 4  # title, expansion, possessive, plain
    assert by_text["Stian Jenssen"].aliases == ("Jenssen",)
    assert by_text["Stian Jenssen"].mentions == 3
    assert "Jenssen" not in by_text and "North Atlantic Treaty Organization" not in by_text
    assert ranked[0].text == "NATO" and ranked[0].salience == 1.0
    assert all(a.salience >= b.salience for a, b in itertools.pairwise(ranked))


def test_expansion_used_most_stays_canonical() -> None:
    text = (
        "The Korea Development Institute said growth slowed. The Korea Development Institute expects a "
        "recovery. KDI economists disagree."
    )
    ranked = rank_entities("Growth slows", text)
    top = {k.text: k for k in ranked}["Korea Development Institute"]
    assert top.aliases == ("KDI",) and top.mentions == 3


def test_title_presence_raises_salience() -> None:
    text = "Paris and Berlin held talks. Paris hosted. Berlin sent envoys. Berlin agreed."
    assert rank_entities("Paris hosts talks", text)[0].text == "Paris"
    assert rank_entities("Berlin joins talks", text)[0].text == "Berlin"


def test_title_case_headline_does_not_invent_entities() -> None:
    ranked = rank_entities("Allies Agree To Increase Global Cooperation", "NATO allies met in Brussels on Friday.")
    assert {k.text for k in ranked} == {"NATO", "Brussels"}


@pytest.mark.skipif(not (SEEDS / "nato-south-korea.txt").exists(), reason="shared seeds not present")
def test_seed_article_key_entities() -> None:
    ranked = rank_entities(SEED_TITLE, seed_text())
    by_text = {k.text: k for k in ranked}
    for name in ("NATO", "South Korea", "Kim Kyung-hyup", "Stian Jenssen"):
        assert name in by_text, name
    assert "North Atlantic Treaty Organization" in by_text["NATO"].aliases
    assert "Jenssen" in by_text["Stian Jenssen"].aliases
    assert by_text["Kim Kyung-hyup"].label == "PER" and by_text["NATO"].label == "ORG"
    assert [k.text for k in ranked[:2]] == ["NATO", "South Korea"]
    assert "Republic of Korea" in by_text["South Korea"].aliases


def test_all_caps_headline_trusts_only_known_names() -> None:
    assert pairs("SOCCER - JAPAN GET LUCKY WIN IN NEW YORK .") == [("JAPAN", "LOC"), ("NEW YORK", "LOC")]


def test_caption_colon_and_stray_capitals_are_not_entities() -> None:
    assert pairs("Fans gathered early: A popular pastime in China draws crowds.") == [("China", "LOC")]


def test_known_place_is_not_relabelled_as_a_person_name_part() -> None:
    got = pairs("The China Dream kite flew over Chongqing.\n\nChina said nothing.")
    assert ("China", "LOC") in got and ("China Dream", "PER") not in got


def test_extractor_choice_without_spacy() -> None:
    assert get_extractor("heuristic") is extract_entities
    assert EXTRACTORS[0] == "heuristic"
    with pytest.raises(ConfigError) as info:
        get_extractor("bert")
    assert info.value.key == "digest.entities" and "heuristic, spacy" in info.value.problem


def test_spacy_backend_missing_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.nlp import entities_spacy

    monkeypatch.setattr(entities_spacy, "_installed", lambda module: False)
    with pytest.raises(ConfigError, match=r"needs spaCy, which is not installed; pip install 'newsbot\[spacy\]'"):
        get_extractor("spacy")


def test_rank_entities_takes_any_extractor() -> None:
    def shouting(text: str) -> list[Entity]:
        return [Entity(m.group(), "ORG", m.start(), m.end()) for m in re.finditer(r"\b[A-Z]{2,}\b", text)]

    ranked = rank_entities("ACME buys WIDGETCO", "ACME said it would buy WIDGETCO. ACME shares rose.", extract=shouting)
    assert [(k.text, k.mentions) for k in ranked] == [("ACME", 3), ("WIDGETCO", 2)]


def test_a_word_opening_a_sentence_is_a_name_only_with_evidence() -> None:
    text = "Read the report. Watch the video. Please share it. Harbour opens today. Ferries sail from Harbour."
    assert pairs(text) == [("Harbour", "ORG")] * 2  # "Harbour" is capitalised mid-sentence: evidence
    assert pairs("Marlow said the vote was close.\nThe mayor of Marlow agreed.") == [("Marlow", "ORG")] * 2
    assert pairs("Oakridge 3 Fenwick 1") == [("Oakridge", "ORG"), ("Fenwick", "ORG")]  # a results table row


def test_the_headline_is_evidence_for_the_body_and_the_body_for_the_headline() -> None:
    ranked = rank_entities("Talks with Verdania stall", "Verdania said no. Officials were surprised.")
    assert [k.text for k in ranked] == ["Verdania"]
    ranked = rank_entities("Westbridge library extends hours", "Westbridge Public Library will open on Sundays.")
    assert "Westbridge" in {k.text for k in ranked} | {a for k in ranked for a in k.aliases}


def test_names_run_across_plural_possessives_and_company_suffixes() -> None:
    text = (
        "Island Ferries Ltd said so. The island is small. Organiser Kim Lee of the Lakeside Traders’ Association spoke."
    )
    assert ("Island Ferries Ltd", "ORG") in pairs(text)
    assert ("Lakeside Traders’ Association", "ORG") in pairs(text)
    assert ("Acme, Inc", "ORG") in pairs("Shares of Acme, Inc. rose.")
    # a singular possessive still ends a name
    assert pairs("The ministers met Britain's Prime Minister Keir Starmer.")[0] == ("Britain", "LOC")


def test_nothing_inside_a_url_a_mention_or_an_id_is_a_name() -> None:
    text = (
        "Ask <@U0123ABC> or &lt;@U999&gt; in <#C999|News>, mail Desk@News.Example.org, follow @NewsDesk, "
        "see https://News.Example.com/Big-Story and www.Harbour.Example/Port, build A1B2C3D4. Harbour Council met."
    )
    assert pairs(text) == [("Harbour Council", "ORG")]
