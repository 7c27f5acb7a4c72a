"""Spans of a text that are not prose: URLs, e-mail addresses, chat mentions, @handles and ids.

No entity may start or end inside one, and highlighting never bolds inside one.
"""

from __future__ import annotations

import bisect
import re

# Where a capitalised word is not a name whatever it looks like: URLs, e-mail addresses, chat
# mentions and channel links (raw or entity-escaped), @handles. Every repeat is bounded, so a
# pathological token (a long run with no "@" or "&gt;") costs linear time, not quadratic.
_NOT_PROSE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']{1,2048}"
    r"|[\w.+-]{1,64}@[\w-]{1,63}\.[\w.-]{1,190}"
    r"|<[@#!/:][^<>\s]{0,80}>|&lt;[@#!/:].{0,80}?&gt;|<(?:a|t):[^<>\s]{0,80}>"
    r"|(?<![\w@])@[\w.-]{1,64}"
)
# Ids such as U0123ABC or C999: letters and digits, at least three of them digits ("G20", "F-16",
# "COVID-19" are names and have fewer, or a hyphen).
_ALNUM = re.compile(r"\b[A-Za-z0-9]{4,}\b")


def not_prose(text: str) -> list[tuple[int, int]]:
    """Spans of `text` that are addresses, mentions or ids: no entity may start or end inside one."""
    spans = [m.span() for m in _NOT_PROSE.finditer(text)]
    if any(c.isdigit() for c in text):
        spans += [
            m.span()
            for m in _ALNUM.finditer(text)
            if sum(c.isdigit() for c in m.group()) >= 3 and not m.group().isdigit()
        ]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overlaps_any(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) overlaps one of `spans` (sorted, disjoint, as not_prose gives them)."""
    i = bisect.bisect_right(spans, (start, 1 << 62)) - 1
    if i >= 0 and spans[i][1] > start:
        return True
    return i + 1 < len(spans) and spans[i + 1][0] < end
