"""Enrich an article once, when it is stored: summary, ranked entities and fingerprints.

Digests and lookups read these stored results and never redo the NLP.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot.config import DigestSettings
from bot.models import FeedItem
from bot.nlp.condense import condense
from bot.nlp.entities import rank_entities
from bot.nlp.fingerprint import content_hash, sketch


@dataclass(frozen=True)
class Enriched:
    summary: list[str]
    entities: list[dict[str, Any]]
    content_hash: str
    shingles: list[int]


def enrich(item: FeedItem, settings: DigestSettings) -> Enriched:
    summary = condense(
        item.title, item.text, max_sentences=settings.summary_sentences, max_chars=settings.summary_chars
    )
    # keep a few more than are ever highlighted, so a story can merge its articles' lists
    ranked = rank_entities(item.title, item.text)[:20]
    body = item.text or item.title
    return Enriched(
        summary=summary,
        entities=[asdict(e) | {"aliases": list(e.aliases)} for e in ranked],
        content_hash=content_hash(body),
        shingles=sketch(body),
    )
