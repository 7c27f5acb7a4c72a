"""Where a summary mentions an article's key entities, as character spans.

Adapters turn the spans into markup (Slack `*x*`, Discord `**x**`); this module only finds them:
whole-word, case-sensitive matches of an entity's text or aliases, overlaps resolved first/longest.
Nothing inside a URL, an e-mail address, a chat mention or an id is ever highlighted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.models import KeyEntity, Span
from bot.nlp.not_prose import not_prose, overlaps_any


def highlight(summary: str, ranked: Sequence[KeyEntity], *, limit: int = 5) -> tuple[list[str], list[Span]]:
    """Canonical texts of up to `limit` entities found in `summary` (best first) and their spans by start."""
    if limit < 1 or not summary:
        return [], []
    order = sorted(range(len(ranked)), key=lambda i: -ranked[i].salience)  # stable: ties keep input order
    masked = not_prose(summary)
    matches = {i: _matches(summary, ranked[i], masked) for i in order}
    candidates = [i for i in order if matches[i]]
    rejected: set[int] = set()
    while True:
        picked = [i for i in candidates if i not in rejected][:limit]
        kept = _resolve([(s, e, i) for i in picked for s, e in matches[i]])
        lost = set(picked) - {i for _, _, i in kept}
        if not lost:
            break
        # An entity whose every mention sits inside a longer picked one gives its slot to the next.
        rejected |= lost
    spans = [Span(s, e, ranked[i].label) for s, e, i in kept]
    return [ranked[i].text for i in picked], spans


def _matches(summary: str, entity: KeyEntity, masked: list[tuple[int, int]]) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for form in {entity.text, *entity.aliases}:
        if not form.strip():
            continue
        pattern = rf"(?<!\w){re.escape(form)}(?!\w)"
        found.extend(
            (m.start(), m.end()) for m in re.finditer(pattern, summary) if not overlaps_any(masked, m.start(), m.end())
        )
    return found


def _resolve(cands: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Non-overlapping matches: the earliest start wins, then the longest; sorted by start."""
    kept: list[tuple[int, int, int]] = []
    last_end = -1
    for s, e, i in sorted(cands, key=lambda c: (c[0], -(c[1] - c[0]))):
        if s >= last_end:
            kept.append((s, e, i))
            last_end = e
    return kept
