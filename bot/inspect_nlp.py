"""`newsbot inspect condense|entities|cluster`: the NLP pipeline as JSON Lines filters.

Each reads JSON objects on one stream and writes one JSON object per input line, in order, on
another, flushing as it goes (`cluster --settled`: all at the end, as the stories then stand); a
malformed line stops it with its line number on `err`. Every quality measurement in
benchmarks/quality.py goes through these same functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.clustering import StoryIndex
from bot.config import DigestSettings
from bot.enrich import Enriched, cluster_features
from bot.ingest.clean import clean_content
from bot.models import AppliedPlan
from bot.nlp.condense import condense
from bot.nlp.entities import Extractor, extract_entities, get_extractor
from bot.nlp.fingerprint import content_hash
from bot.nlp.highlight import highlight
from bot.nlp.salience import rank_entities

KINDS = ("condense", "entities", "cluster")


class BadLine(ValueError):
    """An input line that is not what the command expects; the message says what is wrong."""


def run_inspect(
    kind: str, inp: TextIO, out: TextIO, err: TextIO, settings: DigestSettings, *, settled: bool = False
) -> int:
    """Run one inspection filter; returns the exit code (0 done, 1 bad input).

    With `settled` (cluster only), the labels are written when the input ends: each article's story
    as it stands then, after later articles may have split a story it joined (what a digest built at
    that point carries). Otherwise each line's story is written as soon as the line is decided."""
    if kind not in KINDS:
        err.write(f"newsbot inspect: unknown kind {kind!r} (expected one of: {', '.join(KINDS)})\n")
        return 1
    if settled and kind != "cluster":
        err.write(f"newsbot inspect {kind}: --settled is for cluster only\n")
        return 1
    handler: Callable[[dict[str, Any]], dict[str, Any]]
    if kind == "cluster":
        clusterer = _Clusterer(settings)
        handler = clusterer.row
    else:
        extract = get_extractor(settings.entities)
        handler = (
            (lambda row: condense_row(row, settings, extract))
            if kind == "condense"
            else (lambda row: entities_row(row, extract))
        )
    for number, line in enumerate(inp, start=1):
        if not line.strip():
            continue  # a blank line is no record (e.g. a trailing newline from an editor)
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise BadLine("expected a JSON object")
            result = handler(row)
        except (json.JSONDecodeError, BadLine) as exc:
            err.write(f"newsbot inspect {kind}: line {number}: {exc}\n")
            return 1
        if not settled:
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            out.flush()
    if settled:
        for result in clusterer.settled():
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


def _text(row: dict[str, Any], key: str, *, required: bool) -> str:
    value = row.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadLine(f'"{key}" must be a string' + (" (it is required)" if value is None else ""))
    return value


def _id(row: dict[str, Any]) -> Any:
    if "id" not in row or isinstance(row["id"], (dict, list)):
        raise BadLine('"id" is required (a string or a number)')
    return row["id"]


def condense_row(
    row: dict[str, Any], settings: DigestSettings, extract: Extractor = extract_entities
) -> dict[str, Any]:
    """{"id", "title", "text"[, "sentences"]} -> cleaned text, summary and ranked entities with spans."""
    ident = _id(row)
    title = clean_content(_text(row, "title", required=False)).replace("\n", " ")
    text = clean_content(_text(row, "text", required=True))
    n = row.get("sentences", settings.summary_sentences)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise BadLine('"sentences" must be a whole number >= 1')
    summary = condense(title, text, max_sentences=n, max_chars=settings.summary_chars)
    ranked = rank_entities(title, text, extract=extract)
    salience: dict[str, float] = {}
    for k in ranked:
        for form in (k.text, *k.aliases):
            salience.setdefault(form, k.salience)
    entities = [
        {"text": e.text, "label": e.label, "start": e.start, "end": e.end, "salience": salience.get(e.text, 0.0)}
        for e in extract(text)
    ]
    keys, _ = highlight(" ".join(summary) or title, ranked, limit=settings.key_entities)
    return {"id": ident, "text": text, "summary": summary, "entities": entities, "key_entities": keys}


def entities_row(row: dict[str, Any], extract: Extractor = extract_entities) -> dict[str, Any]:
    """{"id", "text"} -> entities with PER/ORG/LOC/MISC labels and spans into the text as given."""
    ident = _id(row)
    text = _text(row, "text", required=True)
    return {
        "id": ident,
        "entities": [{"text": e.text, "label": e.label, "start": e.start, "end": e.end} for e in extract(text)],
    }


def _published(row: dict[str, Any]) -> datetime | None:
    value = row.get("published")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadLine('"published" must be an ISO 8601 string')
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadLine(f'"published" is not an ISO 8601 time: {value!r}') from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class _Clusterer:
    """One StoryIndex over the whole stream, each line a polling pass of one article; a story is
    named by the id of its first article (a story split off, by the id of its oldest article)."""

    def __init__(self, settings: DigestSettings) -> None:
        self.index = StoryIndex((), window_hours=settings.cluster_hours)
        self.ids: list[Any] = []  # per line
        self.stories: list[int] = []  # per line: its story now
        self.names: list[Any] = []  # per story: its name

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        ident = _id(row)
        title = clean_content(_text(row, "title", required=False)).replace("\n", " ")
        text = clean_content(_text(row, "text", required=False))
        for key in ("url", "source"):
            _text(row, key, required=False)
        info = Enriched(
            summary=[],
            entities=[],
            content_hash=content_hash(text or title),
            shingles=cluster_features(title, text, _published(row)),
        )
        line = len(self.ids)
        self.ids.append(ident)
        # the plan applied here as the store would apply it, with lines for article ids; nothing
        # here is ever posted, so every story may still split
        plan = self.index.plan([info])
        [place] = plan.placements
        started = [self._new_story([line])] if place.id is None else []
        self.stories.append(place.id if place.id is not None else started[0])
        split_to = [self._new_story([*split.article_ids, *(line for _ in split.batch)]) for split in plan.splits]
        for ref, new in self.index.applied(plan, AppliedPlan((line,), tuple(started), tuple(split_to))).items():
            self.stories[ref] = new
        return {"id": ident, "story": self.names[self.stories[line]]}

    def _new_story(self, refs: list[int]) -> int:
        """A story named by the id of its oldest line."""
        self.names.append(self.ids[min(refs)])
        return len(self.names) - 1

    def settled(self) -> Iterator[dict[str, Any]]:
        for ident, story in zip(self.ids, self.stories, strict=True):
            yield {"id": ident, "story": self.names[story]}
