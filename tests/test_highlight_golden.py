"""Golden highlights on real news articles (ECB+ dev, read in place from ../shared/data).

Each article goes the way a feed item does: cleaned, enriched (summary and ranked entities),
then turned into a digest story, whose bold spans are what a channel sees. For each, the words
that must be bold and the words that must not: sentence-opening ordinary words ("Hey",
"Summary", "Late"), which the highlighter used to bold, and names it used to split.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from bot.config import DigestSettings
from bot.digest import story_view
from bot.enrich import enrich
from bot.ingest.clean import clean_content
from bot.models import FeedItem
from bot.store.rows import StoredArticle
from tests.conftest import SHARED

ECB = SHARED / "data" / "dedupe" / "ecb_plus_dev" / "docs.jsonl.gz"
NOW = datetime(2026, 11, 27, 7, tzinfo=UTC)

# doc id -> (must be bold, must not be bold)
GOLDEN: dict[str, tuple[set[str], set[str]]] = {
    "1_9ecb": ({"Tara Reid", "Malibu", "Promises Treatment Center"}, {"Hey"}),
    "19_1ecb": ({"Greece", "Alexandros Grigoropoulos", "Athens"}, {"Fresh", "Violent"}),
    "29_8ecb": ({"Manning", "Colts", "Jaguars", "Indianapolis Colts"}, {"Late"}),
    "33_1ecb": ({"Shondell McAllister", "Jermayne Timmons", "Albany County Court"}, {"Somebody"}),
    "43_8ecbplus": ({"Rich Fichera", "AMD", "SeaMicro", "Intel"}, {"Summary"}),
    "7_9ecbplus": ({"Wladimir Klitschko", "Tony Thompson"}, set()),  # the whole name, not "Klitschko" alone
    "25_3ecb": ({"Reggie Bush", "New Orleans Saints"}, {"Bush"}),
    "13_4ecb": ({"Wasilla Bible Church", "James Steele"}, {"Damage"}),
    "19_5ecbplus": ({"Kimani", "Gray", "Brooklyn"}, {"Memorial", "Kimani'Kiki"}),
}


def _articles() -> dict[str, dict[str, str]]:
    with gzip.open(ECB, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return {r["doc_id"]: r for r in rows if r["doc_id"] in GOLDEN}


def bolded(doc: dict[str, str]) -> list[str]:
    """The bold words of the article's digest story, as a channel would see them."""
    title, _, body = doc["text"].partition("\n")
    settings = DigestSettings()
    item = FeedItem(guid=doc["doc_id"], url=None, title=title, text=clean_content(body), published=None)
    info = enrich(item, settings)
    article = StoredArticle(
        id=1,
        feed_id=1,
        source="ECB+",
        title=item.title,
        url=None,
        text=item.text,
        published_at=None,
        first_seen_at=NOW,
        summary=info.summary,
        entities=info.entities,
        story_id=1,
    )
    story = story_view(1, [article], settings)
    return [story.summary[s.start : s.end] for s in story.highlights]


@pytest.mark.skipif(not ECB.is_file(), reason=f"{ECB} is absent: the shared corpora are not beside this clone")
@pytest.mark.parametrize("doc_id", sorted(GOLDEN))
def test_highlights_bold_names_and_only_names(doc_id: str) -> None:
    must, must_not = GOLDEN[doc_id]
    bold = bolded(_articles()[doc_id])
    assert must <= set(bold), f"{doc_id}: missing {must - set(bold)} in {bold}"
    assert not must_not & set(bold), f"{doc_id}: {must_not & set(bold)} bolded in {bold}"
