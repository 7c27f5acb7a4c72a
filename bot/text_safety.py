"""Feed text made safe to render: invisible and direction-changing characters out, whitespace normalised.

The one place that decides which characters of a publisher's text never reach a channel. Ingest
applies it to what it stores, digest views apply it again (rows stored before this existed),
and every adapter applies it once more to whatever it renders, so no path can skip it.
What is removed renders as nothing or only reorders what is shown: bidirectional embeddings,
overrides, isolates and marks (a feed could make a line read backwards or disguise a URL),
zero-width characters, soft hyphens, C0/C1 controls and Unicode tag characters. Everything a
reader can see is kept as it is; escaping for a markup language is each adapter's own job.
"""

from __future__ import annotations

import re

# U+202A-202E embeddings and overrides, U+2066-2069 isolates, U+200E/U+200F marks, U+061C the Arabic mark
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Zero width: space, word joiner, BOM, invisible operators (U+2061-2064), Mongolian vowel separator,
# soft hyphen, combining grapheme joiner, the stand-alone Hangul fillers, interlinear annotation marks.
_ZERO_WIDTH = "\u200b\u2060\ufeff\u2061\u2062\u2063\u2064\u180e\u00ad\u034f\u3164\uffa0\ufff9\ufffa\ufffb"
# C0 and C1 controls but tab, line feed, carriage return and NEL (U+0085), which are whitespace
_CONTROLS = "".join(map(chr, (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0x85), *range(0x86, 0xA0))))
_DROP = re.compile("[" + re.escape("".join(sorted(BIDI_CONTROLS)) + _ZERO_WIDTH + _CONTROLS) + "\U000e0000-\U000e007f]")
# The joiners (U+200C ZWNJ, U+200D ZWJ) shape Persian, Arabic and Indic words and build emoji
# sequences (a family, a flag): kept between two such characters, dropped where they can only hide
# something (inside "@every\u200done", around ASCII, at either end of a word).
_JOINER = re.compile(r"(?<![^\x00-\x7f\s])[\u200c\u200d]|[\u200c\u200d](?![^\x00-\x7f\s])")
_SPACE = re.compile(r"\s+")  # every kind of space and line break, as str.split() sees them
_LINE_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _strip_invisible(text: str) -> str:
    if text.isascii():
        return _DROP.sub("", text) if not text.isprintable() else text
    return _JOINER.sub("", _DROP.sub("", text))


def safe_chars(text: str | None) -> str:
    """`text` with invisible and bidi controls removed and nothing else touched (spacing, line breaks).

    For newsbot's own lines that quote feed or user text (command replies), whose spacing is ours.
    """
    return _strip_invisible(text) if text else ""


def safe_line(text: str | None) -> str:
    """`text` on one line: invisible and bidi controls removed, every run of whitespace one space."""
    if not text:
        return ""
    # str.split() splits on exactly the characters r"\s" matches, and is several times faster
    return " ".join(_strip_invisible(text).split())


def safe_text(text: str | None) -> str:
    """`text` with its paragraph breaks kept (at most one blank line), spaces normalised inside lines."""
    if not text:
        return ""
    value = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    value = _strip_invisible(value)
    lines = [_LINE_SPACE.sub(" ", line).strip() for line in value.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def safe_piece(text: str) -> str:
    """A slice of a longer text (between two highlights): cleaned, whitespace runs one space, ends kept.

    Unlike safe_line it does not trim, so "said " + "NATO" + " today" still reads with its spaces.
    """
    return _SPACE.sub(" ", _strip_invisible(text)) if text else ""
