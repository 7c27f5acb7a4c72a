"""Extractive condensing, entity highlighting, and the seed-article pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.models import KeyEntity
from bot.nlp.condense import condense
from bot.nlp.highlight import highlight
from bot.nlp.salience import rank_entities

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
BOILERPLATE = ("Spread the love", "READ ALSO:", "Leave a Reply")

ARTICLE = (
    "The city council approved a new budget for the coming year on Tuesday.\n\n"
    "The plan raises spending on schools and parks by five percent. "
    "Critics said the increase would require higher property taxes. "
    "The mayor rejected that claim in a statement late on Tuesday. "
    "A final vote is expected next month after public hearings."
)


def test_lead_sentences_in_order() -> None:
    got = condense("Council passes budget", ARTICLE, max_sentences=3, max_chars=600)
    assert got == [
        "The city council approved a new budget for the coming year on Tuesday.",
        "The plan raises spending on schools and parks by five percent.",
        "Critics said the increase would require higher property taxes.",
    ]


def test_char_budget_is_respected_and_never_cuts_a_sentence() -> None:
    for budget in (80, 140, 200, 260):
        got = condense("Council passes budget", ARTICLE, max_sentences=5, max_chars=budget)
        assert 1 <= len(got) <= 5
        assert len(" ".join(got)) <= budget
        assert all(s in ARTICLE and s.endswith(".") for s in got)


def test_overlong_first_sentence_gives_way_to_one_that_fits() -> None:
    long_first = "Officials " + "said many things about the budget and " * 8 + "then left."
    text = long_first + " The plan raises spending on schools by five percent. It passed."
    assert condense("Budget", text, max_chars=100) == ["The plan raises spending on schools by five percent."]


def test_nothing_fits_returns_the_first_sentence_whole() -> None:
    text = "The council approved the budget after a very long debate. The mayor signed it into law at once."
    assert condense("Budget", text, max_chars=20) == ["The council approved the budget after a very long debate."]


def test_skips_headline_repeat_and_fragments() -> None:
    text = (
        "NATO and South Korea have agreed to increase global cooperation.\n\n"
        "Spread the love\n\n"
        "The alliance said it would strengthen cooperation with Seoul on cyber defence. "
        "Officials met in Brussels on Friday to discuss security."
    )
    got = condense("NATO and South Korea agree to increase global cooperation", text)
    assert got == [
        "The alliance said it would strengthen cooperation with Seoul on cyber defence.",
        "Officials met in Brussels on Friday to discuss security.",
    ]


def test_weak_lead_falls_back_to_central_sentences_in_document_order() -> None:
    text = (
        "WASHINGTON\n\n"
        "Is the budget fair?\n\n"
        "Who pays?\n\n"
        "The budget plan raises school spending by five percent. "
        "The weather was mild all week in the capital. "
        "The budget plan also cuts park spending by two percent. "
        "School spending and the budget plan dominate the council debate."
    )
    got = condense("Budget debate", text, max_sentences=2, max_chars=600)
    assert got == [
        "The budget plan raises school spending by five percent.",
        "The budget plan also cuts park spending by two percent.",
    ] or got == [
        "The budget plan raises school spending by five percent.",
        "School spending and the budget plan dominate the council debate.",
    ]
    assert "The weather was mild all week in the capital." not in got
    assert all(not s.endswith("?") for s in got)


def test_empty_text_and_fragment_only_text() -> None:
    assert condense("Title", "") == []
    assert condense("Title", "  \n\n ") == []
    assert condense("Title", "Breaking news") == ["Breaking news"]


def test_highlight_picks_best_entities_present_and_sorts_spans() -> None:
    summary = "Stian Jenssen met NATO staff in Brussels. Jenssen praised the North Atlantic Treaty Organization."
    ranked = [
        KeyEntity("NATO", "ORG", 1.0, 3, ("North Atlantic Treaty Organization",)),
        KeyEntity("Afghanistan", "LOC", 0.9, 2),
        KeyEntity("Stian Jenssen", "PER", 0.8, 2, ("Jenssen",)),
        KeyEntity("Brussels", "LOC", 0.5, 1),
    ]
    names, spans = highlight(summary, ranked, limit=2)
    assert names == ["NATO", "Stian Jenssen"]
    assert [summary[s.start : s.end] for s in spans] == [
        "Stian Jenssen",
        "NATO",
        "Jenssen",
        "North Atlantic Treaty Organization",
    ]
    assert [s.label for s in spans] == ["PER", "ORG", "PER", "ORG"]


def test_highlight_whole_word_case_sensitive_and_longest_first() -> None:
    summary = "South Korean officials and South Korea met nato staff. Korea agreed."
    ranked = [
        KeyEntity("Korea", "LOC", 1.0),
        KeyEntity("South Korea", "LOC", 0.9),
        KeyEntity("NATO", "ORG", 0.8),
    ]
    names, spans = highlight(summary, ranked)
    assert names == ["Korea", "South Korea"]
    assert [(summary[s.start : s.end], s.start) for s in spans] == [
        ("South Korea", summary.index("South Korea m")),
        ("Korea", summary.rindex("Korea")),
    ]


def test_highlight_entity_hidden_inside_a_longer_one_yields_its_slot() -> None:
    summary = "The Bank of England raised rates. Markets in London fell."
    ranked = [
        KeyEntity("England", "LOC", 1.0),
        KeyEntity("Bank of England", "ORG", 0.5),
        KeyEntity("London", "LOC", 0.2),
    ]
    names, spans = highlight(summary, ranked, limit=2)
    assert names == ["Bank of England", "London"]
    assert [summary[s.start : s.end] for s in spans] == ["Bank of England", "London"]


@pytest.mark.skipif(not (SEEDS / "nato-south-korea.txt").exists(), reason="shared seeds not present")
def test_seed_article_pipeline() -> None:
    raw = (SEEDS / "nato-south-korea.txt").read_text(encoding="utf-8")
    text = "\n".join(line for line in raw.splitlines() if not line.strip().startswith(BOILERPLATE))
    title = "NATO and South Korea agree to increase global cooperation"
    ranked = rank_entities(title, text)
    summary = condense(title, text, max_sentences=3, max_chars=600)
    joined = " ".join(summary)
    assert 1 <= len(summary) <= 3 and len(joined) <= 600
    assert not summary[0].startswith("NATO and South Korea have agreed")  # the headline repeat is skipped
    names, spans = highlight(joined, ranked, limit=5)
    assert {"NATO", "South Korea", "Kim Kyung-hyup", "Stian Jenssen"} <= set(names)
    marked = {joined[s.start : s.end] for s in spans}
    assert "North Atlantic Treaty Organization" in marked  # highlighted as NATO's alias
    assert [s.start for s in spans] == sorted(s.start for s in spans)


def test_one_sentence_summary_prefers_the_central_sentence_over_a_scene_setting_opening() -> None:
    from bot.nlp.condense import condense

    text = (
        "It was a cold morning in the village when the first lorries arrived. "
        "The government will close the Ridgeway coal mine next year, the energy minister said on Monday. "
        "The mine employs 400 people and closing it is part of the government plan to end coal power. "
        "Unions said the coal mine closure would hurt the region."
    )
    assert condense("", text, max_sentences=1) == [
        "The government will close the Ridgeway coal mine next year, the energy minister said on Monday."
    ]


def test_a_text_that_only_repeats_the_headline_gives_no_summary() -> None:
    assert condense("Show HN: A tiny feed reader", "Show HN: A tiny feed reader") == []
    assert condense("Marcus Aurelius", "Marcus Aurelius.") == []


def test_a_sentence_the_feed_cut_short_is_never_in_the_summary() -> None:
    text = (
        "The council approved the harbour plan on Tuesday. "
        "Work on the new pier starts in May and should take two years. "
        "Critics said the cost of the dredging had been underestimated by the..."
    )
    got = condense("Harbour plan approved", text, max_sentences=3)
    assert got == [
        "The council approved the harbour plan on Tuesday.",
        "Work on the new pier starts in May and should take two years.",
    ]
    assert condense("Marcus Aurelius", "Melvyn Bragg and guests discuss the man who, according to Machiavelli…") == []
    assert condense("Space", "A rocket launched on Friday from the coast. Can it [...]") == [
        "A rocket launched on Friday from the coast."
    ]


def test_a_pronoun_sentence_keeps_the_sentence_it_points_back_to() -> None:
    text = (
        "Police named a woman who was found in the river on Sunday. "
        "She was later named as Jane Doe, 34, of Westbridge. "
        "An inquest will open next week."
    )
    # the first sentence repeats the headline, so lead mode would start at "She was later named"
    got = condense("Woman found in river named by police", text, max_sentences=2)
    assert got[0] == "Police named a woman who was found in the river on Sunday."
    assert "She was later named as Jane Doe, 34, of Westbridge." in got
    # no room for the antecedent: the pronoun sentence goes rather than dangle
    tight = condense("Woman found in river named by police", text, max_sentences=2, max_chars=90)
    assert not any(s.startswith("She ") for s in tight)
