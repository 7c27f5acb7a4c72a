"""Sentence splitting on news prose: abbreviations, quotes, paragraphs."""

from __future__ import annotations

import pytest

from bot.nlp.sentences import sentence_spans, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The U.S. and the U.K. signed a deal. It takes effect Sept. 1 at 10 a.m. Officials were pleased.",
            ["The U.S. and the U.K. signed a deal.", "It takes effect Sept. 1 at 10 a.m.", "Officials were pleased."],
        ),
        (
            "Mr. Smith met Mrs. Jones and Dr. Lee. Gen. Milley and Sen. Warren spoke. Rep. Cheney left St. Louis.",
            [
                "Mr. Smith met Mrs. Jones and Dr. Lee.",
                "Gen. Milley and Sen. Warren spoke.",
                "Rep. Cheney left St. Louis.",
            ],
        ),
        (
            "He lives in the U.S. He moved there on Jan. 5, 2020. Acme Corp. said nothing. Acme Inc. The end came.",
            [
                "He lives in the U.S.",
                "He moved there on Jan. 5, 2020.",
                "Acme Corp. said nothing.",
                "Acme Inc.",
                "The end came.",
            ],
        ),
        (
            "J. K. Rowling wrote it. The No. 2 official resigned. Prices rose 3.5 percent. He paused... Then left.",
            [
                "J. K. Rowling wrote it.",
                "The No. 2 official resigned.",
                "Prices rose 3.5 percent.",
                "He paused...",
                "Then left.",
            ],
        ),
        (
            'The flight left at 6:45 p.m. Passengers cheered. "We won," he said. "It was great." Next came lunch.',
            [
                "The flight left at 6:45 p.m.",
                "Passengers cheered.",
                '"We won," he said.',
                '"It was great."',
                "Next came lunch.",
            ],
        ),
        (
            "“It is over,” he said. “We are done.” The crowd left. “Why?” she asked. Nobody knew!",
            ["“It is over,” he said.", "“We are done.”", "The crowd left.", "“Why?” she asked.", "Nobody knew!"],
        ),
        (
            "The meeting at 9 a.m. ET was brief. It cost $2.5 billion, i.e. a lot. Talks vs. war.",
            ["The meeting at 9 a.m. ET was brief.", "It cost $2.5 billion, i.e. a lot.", "Talks vs. war."],
        ),
    ],
)
def test_news_abbreviations(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_never_crosses_a_blank_line() -> None:
    text = "A paragraph without a stop\n\n  Another one. With two sentences.\n \n\nLast"
    assert split_sentences(text) == ["A paragraph without a stop", "Another one.", "With two sentences.", "Last"]


def test_line_break_splits_unless_text_runs_on() -> None:
    text = "A headline line\nThe body starts here. It goes on, and\non to the next line."
    assert split_sentences(text) == [
        "A headline line",
        "The body starts here.",
        "It goes on, and\non to the next line.",
    ]


def test_spans_index_into_text_and_are_trimmed() -> None:
    text = "  First one.   Second one!\n\n\tThird?  "
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["First one.", "Second one!", "Third?"]
    for s, e in spans:
        assert not text[s].isspace() and not text[e - 1].isspace()


def test_empty_and_blank_text() -> None:
    assert sentence_spans("") == []
    assert split_sentences(" \n\n \t") == []
