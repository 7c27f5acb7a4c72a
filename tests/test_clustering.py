"""StoryIndex: exact copies, near copies, same story from other outlets, time window, old rows."""

from __future__ import annotations

import gzip
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clustering import StoryIndex, pair_scores, representative
from bot.enrich import Enriched, cluster_features, parse_features
from bot.models import AppliedPlan, Candidate
from bot.nlp.fingerprint import content_hash, sketch

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
T0 = datetime(2026, 7, 3, 9, tzinfo=UTC)

QUAKE_A = (
    "Strong earthquake shakes northern Chile",
    "A magnitude 6.8 earthquake struck near the Chilean port of Iquique on Tuesday, damaging roads and "
    "cutting power to thousands of homes, officials in Tarapaca said. President Gabriel Boric said the "
    "navy had lifted a brief tsunami alert.",
)
QUAKE_A2 = (
    "Chile quake: power cut in Iquique, tsunami alert lifted",
    "Thousands of homes around Iquique lost power after a magnitude 6.8 quake hit northern Chile. The navy "
    "lifted its tsunami alert within an hour, President Gabriel Boric said, and Tarapaca officials reported "
    "damaged roads.",
)
QUAKE_B = (
    "Earthquake hits central Italy",
    "A magnitude 5.1 earthquake struck near the Italian town of Norcia in Umbria on Sunday, cracking church "
    "walls. The civil protection agency said Fabrizio Curcio had sent teams to check schools.",
)


def info(title: str, text: str, published: datetime | None = T0) -> Enriched:
    return Enriched([], [], content_hash(text or title), cluster_features(title, text, published))


def assign(index: StoryIndex, article: Enriched, new_story: int) -> int:
    """One article planned and applied as its own batch, starting story `new_story` if it joins none."""
    plan = index.plan([article], settle=False)
    index.applied(plan, AppliedPlan((0,), (new_story,) * plan.new_stories, ()))
    [place] = plan.placements
    return new_story if place.id is None else place.id


def stored(story_id: int, article: Enriched) -> Candidate:
    return Candidate(story_id, article.content_hash, article.shingles)


def test_same_story_joins_and_a_similar_event_does_not() -> None:
    index = StoryIndex(())
    assert assign(index, info(*QUAKE_A), 0) == 0
    assert assign(index, info(*QUAKE_B), 1) == 1
    assert index.find(info(*QUAKE_A2)) == 0


def test_exact_copy_joins_by_content_hash_whatever_the_title() -> None:
    index = StoryIndex([stored(7, info(*QUAKE_A))])
    assert index.find(info("Another headline", QUAKE_A[1])) == 7


def test_time_window_keeps_old_stories_apart() -> None:
    index = StoryIndex([stored(1, info(*QUAKE_A, published=T0))], window_hours=48)
    assert index.find(info(*QUAKE_A2, published=T0 + timedelta(hours=72))) is None
    assert index.find(info(*QUAKE_A2, published=T0 + timedelta(hours=20))) == 1
    assert index.find(info(*QUAKE_A2, published=None)) == 1  # no date: no window


def test_built_from_stored_candidates_new_and_legacy() -> None:
    features = info(*QUAKE_A).shingles
    legacy = sketch(QUAKE_B[1])  # rows written before features were stored: a bare sketch list
    index = StoryIndex([Candidate(3, "h1", json.loads(json.dumps(features)), T0), Candidate(4, "h2", legacy, None)])
    assert index.find(info(*QUAKE_A2)) == 3
    assert index.find(info("Italy quake", QUAKE_B[1] + " Update.")) == 4  # near copy by sketch
    assert parse_features(None) == ([], None, None)


def test_representative_is_most_complete_unless_a_source_is_preferred() -> None:
    class A:
        def __init__(self, id: int, text: str, source: str) -> None:
            self.id, self.text, self.source = id, text, source

    arts = [A(1, "short", "Wire"), A(2, "much longer text", "Ledger")]
    assert representative(arts).id == 2
    assert representative(arts, ["wire"]).id == 1
    assert representative(arts, ["Nobody"]).id == 2


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data (the shared evaluation data)")
def test_ecb_plus_dev_event_stories_in_shuffled_order() -> None:
    sys.path.insert(0, str(SHARED / "tools"))
    import metrics  # type: ignore[import-not-found]

    with gzip.open(SHARED / "dedupe/ecb_plus_dev/docs.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(x) for x in f]
    random.Random(1).shuffle(rows)
    index, pred = StoryIndex(()), dict[str, int]()
    for r in rows:
        first, _, rest = r["text"].partition("\n")
        pred[r["doc_id"]] = assign(index, info(first, rest, None), len(pred))
    gold = {r["doc_id"]: r["story_id"] for r in rows}
    assert metrics.bcubed(gold, pred)["f1"] >= 0.8


def test_names_and_numbers_inside_sentences_weigh_more_than_common_words() -> None:
    from bot.nlp.storyvec import story_features

    feats = story_features(
        "", "The club said the receiver Jamal Williams was arrested at 2 a.m. on Route 94, the club said."
    )
    assert feats.terms["william"] > feats.terms["receiver"]
    assert feats.terms["94"] > feats.terms["arrest"]
    # a capital that opens a sentence is no name
    opener = story_features("", "Arrested early on Sunday, he was released.")
    assert opener.terms["arrest"] == opener.terms["releas"]


def test_second_similar_event_with_other_names_starts_its_own_story() -> None:
    a1 = (
        "Chargers receiver arrested on DUI charge",
        "San Diego Chargers receiver Vincent Jackson was arrested on suspicion of drunk driving on Tuesday, "
        "the California Highway Patrol said. Jackson failed sobriety tests on state Route 52.",
    )
    a2 = (
        "Chargers' Jackson arrested on suspicion of DUI",
        "Chargers wide receiver Vincent Jackson was arrested early Tuesday on suspicion of drunken driving on "
        "Route 52, the California Highway Patrol said. Jackson said he expects no charges.",
    )
    b1 = (
        "Chargers lineman arrested on DUI suspicion",
        "Chargers defensive tackle Jamal Williams was arrested on suspicion of drunken driving on Sunday, the "
        "California Highway Patrol said. Williams was stopped for speeding on state Route 94 in his Bentley.",
    )
    index = StoryIndex(())
    assert assign(index, info(*a1), 0) == 0
    assert assign(index, info(*a2), 1) == 0
    assert index.find(info(*b1)) is None


def test_lookup_work_is_bounded_when_every_article_shares_common_words() -> None:
    # 3,000 articles that all share their common words: the rare ones still find the match, though
    # only the newest postings of each term are scanned.
    common = "the council said the budget vote on the city plan was delayed again this week"
    index = StoryIndex(
        [stored(n, info(f"Council update {n}", f"{common} item{n} ref{n * 7} code{n * 13}")) for n in range(3000)]
    )
    probe = info("Council update", f"{common} item2999 ref20993 code38987")
    assert index.find(probe) == 2999


def test_possessives_and_dates_do_not_make_separate_names() -> None:
    from bot.nlp.storyvec import story_features

    feats = story_features("", "Shares of Microsoft's rivals fell on Tuesday after Microsoft patched a flaw.")
    assert "microsoft" in feats.names and "microsoft's" not in feats.names
    assert "tuesday" not in feats.names


def test_full_text_bar_follows_a_custom_threshold() -> None:
    index = StoryIndex((), threshold=0.3)
    assert index.full_text_threshold == pytest.approx(0.28)
    assert StoryIndex((), threshold=0.3, full_text_threshold=0.25).full_text_threshold == 0.25


def test_pair_scores_rank_the_same_event_above_a_similar_one() -> None:
    a = info(
        "Lohan checks into rehab",
        "Actress Lindsay Lohan checked into a rehab clinic in Malibu on Sunday, her lawyer said.",
    )
    b = info(
        "Lohan enters rehab clinic", "Lindsay Lohan entered a Malibu rehab clinic on Sunday, according to her lawyer."
    )
    c = info(
        "Reid checks into rehab",
        "Actress Tara Reid checked into a rehab clinic in Los Angeles in 2006, her publicist said.",
    )
    scores = pair_scores([a, b, c])
    assert scores[0][1] == pytest.approx(scores[1][0])
    assert scores[0][1] > scores[0][2] > 0
