"""bot.text_safety: what no feed text may carry into a channel, and everything else it keeps."""

from __future__ import annotations

import pytest

from bot.text_safety import BIDI_CONTROLS, safe_chars, safe_line, safe_piece, safe_text


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_every_bidi_control_is_removed(control: str) -> None:
    assert safe_line(f"moc.elgoog{control}//:sptth evil") == "moc.elgoog//:sptth evil"


def test_the_bidi_set_is_every_embedding_override_isolate_and_mark() -> None:
    expected = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}
    assert expected == BIDI_CONTROLS


def test_invisible_and_control_characters_go_and_whitespace_is_one_space() -> None:
    raw = "N\u200bA\u2060T\ufeffO\u00ad \x1b[2Jcleared\x07 \u3164 a\u00a0b\u2003c\u3000d\t\ne\x85f \U000e0041tag"
    assert safe_line(raw) == "NATO [2Jcleared a b c d e f tag"


def test_joiners_stay_where_they_shape_words_or_emoji_and_go_where_they_hide_things() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want", with a ZWNJ inside
    assert safe_line(f"{family} {persian}") == f"{family} {persian}"
    assert safe_line("@every\u200done \u200dNATO\u200c") == "@everyone NATO"


def test_visible_characters_are_kept_exactly() -> None:
    text = "*Bold* _it_ ~s~ `c` ```f``` > q | p & <!channel> <@U1> [x](y) || # 1. - \\ ’ « » é 中文 😀"
    assert safe_line(text) == text


def test_paragraphs_survive_safe_text_and_pieces_keep_their_edge_spaces() -> None:
    assert safe_text("One\u202e line\r\nnext\r\n\r\n\r\nPara\u2029two ") == "One line\nnext\n\nPara\n\ntwo"
    assert safe_piece(" said\u200b  today ") == " said today "
    assert safe_line(None) == safe_text("") == ""


def test_safe_chars_keeps_our_own_spacing() -> None:
    assert (
        safe_chars("Usage: schedule <HH:MM>  |  schedule off\u202e\u200b") == "Usage: schedule <HH:MM>  |  schedule off"
    )
