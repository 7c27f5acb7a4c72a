"""Enrich an article once, when it is stored: summary, ranked entities and clustering features.

Digests and lookups read these stored results and never redo the NLP. The `shingles` JSON column
holds everything clustering needs ({"sketch", "terms", "names", "published"}); rows written before
that hold a bare sketch list, which `parse_features` still reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache
from typing import Any

from bot.config import DigestSettings
from bot.models import FeedItem
from bot.nlp.bold_gate import highlightable
from bot.nlp.condense import condense
from bot.nlp.entities import Extractor, get_extractor
from bot.nlp.fingerprint import content_hash, sketch
from bot.nlp.salience import rank_entities
from bot.nlp.storyvec import StoryFeatures, story_features


@dataclass(frozen=True)
class Enriched:
    summary: list[str]
    entities: list[dict[str, Any]]
    content_hash: str
    shingles: dict[str, Any]  # stored as is in the `shingles` JSON column


@cache
def _extractor(name: str) -> Extractor:
    # one extractor per backend for the process: the spaCy pipeline loads once
    return get_extractor(name)


def enrich(item: FeedItem, settings: DigestSettings) -> Enriched:
    summary = condense(
        item.title, item.text, max_sentences=settings.summary_sentences, max_chars=settings.summary_chars
    )
    # keep a few more than are ever highlighted, so a story can merge its articles' lists; the
    # extractors (rules and the spaCy model) are made for English: elsewhere they bold common nouns
    extract = _extractor(settings.entities)
    ranked = highlightable(item.title, item.text, lambda: rank_entities(item.title, item.text, extract=extract))[:20]
    return Enriched(
        summary=summary,
        entities=[asdict(e) | {"aliases": list(e.aliases)} for e in ranked],
        content_hash=content_hash(item.text or item.title),
        shingles=cluster_features(item.title, item.text, item.published),
    )


def cluster_features(title: str, text: str, published: datetime | None) -> dict[str, Any]:
    """What clustering needs of one article, as JSON-ready data."""
    feats = story_features(title, text)
    return {
        "sketch": sketch(text or title),
        "terms": feats.terms,
        "names": feats.names,
        "published": published.isoformat() if published else None,
    }


def parse_features(stored: Any) -> tuple[list[int], StoryFeatures | None, datetime | None]:
    """(sketch, features, published) from a `shingles` value, old (a list) or new (a dict)."""
    if isinstance(stored, list):
        return [int(h) for h in stored], None, None
    if not isinstance(stored, dict):
        return [], None, None
    published = None
    if stored.get("published"):
        try:
            published = datetime.fromisoformat(stored["published"])
        except (TypeError, ValueError):
            published = None
    feats = StoryFeatures(
        terms={str(k): float(v) for k, v in (stored.get("terms") or {}).items()},
        names={str(k): float(v) for k, v in (stored.get("names") or {}).items()},
    )
    return [int(h) for h in stored.get("sketch") or ()], feats, published
