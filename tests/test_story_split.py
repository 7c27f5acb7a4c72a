"""Splitting a story that a similar second event joined: the settle step of the index's plan, the
store applying it, and `inspect`.

The scenario is real ECB+ text (topic 35): three reports of Chargers receiver Vincent Jackson's DUI
arrest make a story; the first report of defensive tackle Jamal Williams' DUI arrest a month later
joins it on arrival (same club, same charge, same police), and so do two more Williams reports.
Once they are there, the Williams reports resemble each other far more than the Jackson ones, and
the plan gives them a story of their own, which the store makes unless a digest has already
carried the story.

Before them come all 105 articles of ECB+ topics 1, 3, 5 and 9 (rehab, escaped prisoners, NBA
coaches, endangered species rules), so that word statistics are those of a running bot, not of six
sports reports (on a near-empty index every shared word is common and nothing joins). The doc ids
were picked by trying random orders in a scratch script; this outcome still held with the join bar
(full_text_threshold) or the split bar (SPLIT_SIMILARITY) moved by 0.01 either way, and under every
PYTHONHASHSEED tried (set order changes float sums), so it is not balanced on an edge.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any, TextIO, cast

import pytest
import sqlalchemy as sa

import bot.store.articles
from bot.clustering import StoryIndex, _average_link
from bot.config import DigestSettings
from bot.enrich import Enriched, cluster_features
from bot.ingest.clean import clean_content
from bot.inspect_nlp import run_inspect
from bot.models import AppliedPlan, ChannelRef, ClusterPlan, StoryRef
from bot.nlp.fingerprint import content_hash
from bot.store.schema import articles, stories
from bot.store.store import Store
from tests.conftest import SHARED

ECB = SHARED / "data" / "dedupe" / "ecb_plus_dev" / "docs.jsonl.gz"
needs_ecb = pytest.mark.skipif(not ECB.is_file(), reason="needs ../shared/data (the shared evaluation data)")

BACKGROUND_TOPICS = {1, 3, 5, 9}
JACKSON = ["35_1ecb", "35_9ecb", "35_4ecb"]  # event A: Vincent Jackson's DUI arrest
WILLIAMS = ["35_1ecbplus", "35_2ecbplus", "35_9ecbplus"]  # event B: Jamal Williams' DUI arrest
T0 = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


# --- _average_link on hand-made similarities ------------------------------------------------------


def _matrix(n: int, pairs: dict[tuple[int, int], float], rest: float) -> list[list[float]]:
    sims = [[1.0 if i == j else rest for j in range(n)] for i in range(n)]
    for (i, j), s in pairs.items():
        sims[i][j] = sims[j][i] = s
    return sims


def test_average_link_keeps_two_tight_groups_apart() -> None:
    sims = _matrix(4, {(0, 1): 0.9, (2, 3): 0.8}, rest=0.05)
    assert _average_link(sims, 0.2, 2) == [[0, 1], [2, 3]]


def test_average_link_uses_the_average_not_the_closest_pair() -> None:
    # 1 and 2 are close (0.6), but the four cross pairs average 0.1875: still two groups
    sims = _matrix(4, {(0, 1): 0.9, (2, 3): 0.8, (1, 2): 0.6}, rest=0.05)
    assert _average_link(sims, 0.2, 2) == [[0, 1], [2, 3]]
    # with the bar under that average they are one
    assert _average_link(sims, 0.18, 2) == [[0, 1, 2, 3]]


def test_average_link_merges_a_lone_outlier_into_its_closest_group() -> None:
    # 4 resembles nothing above the bar, but a group of one is never a story of its own: it goes
    # where it is least unlike (2 and 3), not to the first group
    sims = _matrix(5, {(0, 1): 0.9, (2, 3): 0.8, (2, 4): 0.15, (3, 4): 0.12}, rest=0.02)
    assert _average_link(sims, 0.2, 2) == [[0, 1], [2, 3, 4]]
    # a group of min_group may stand alone, though: with min_group 1 the outlier does
    assert _average_link(sims, 0.2, 1) == [[0, 1], [2, 3], [4]]


def test_average_link_keeps_everything_above_the_bar_together() -> None:
    sims = _matrix(5, {(0, 1): 0.9, (3, 4): 0.7}, rest=0.3)
    assert _average_link(sims, 0.2, 2) == [[0, 1, 2, 3, 4]]
    assert _average_link([[1.0]], 0.2, 2) == [[0]]


# --- the ECB+ scenario ----------------------------------------------------------------------------


def _load() -> tuple[list[str], dict[str, tuple[str, str]]]:
    """The background's doc ids in file order, and (headline, body) of the background and of every
    topic 35 article, as given."""
    with gzip.open(ECB, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    background = [r["doc_id"] for r in rows if r["topic"] in BACKGROUND_TOPICS]
    raw = {}
    for r in rows:
        if r["topic"] in BACKGROUND_TOPICS or r["topic"] == 35:
            first, _, rest = r["text"].partition("\n")
            raw[r["doc_id"]] = (first, rest)
    return background, raw


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], dict[str, tuple[str, str]]]:
    return _load()


def _cleaned(raw: tuple[str, str]) -> tuple[str, str]:
    # as `inspect cluster` reads a line, so the index, the store and inspect see the same article
    return clean_content(raw[0]).replace("\n", " "), clean_content(raw[1])


def _enriched(raw: tuple[str, str]) -> Enriched:
    title, text = _cleaned(raw)
    return Enriched([], [], content_hash(text or title), cluster_features(title, text, None))


class _Stories:
    """Applies plans in memory for the index test, as the store would: story ids from a counter,
    a digest's stories in `frozen`, and a record of every split made."""

    def __init__(self) -> None:
        self.ids = count(1)
        self.frozen: set[int] = set()
        self.splits: list[tuple[int, list[int], int]] = []  # (old story, article ids, new story)

    def apply(self, index: StoryIndex, docs: list[str], info: dict[str, Enriched], ref: dict[str, int]) -> ClusterPlan:
        plan = index.plan([info[d] for d in docs])
        started = tuple(next(self.ids) for _ in range(plan.new_stories))
        split_to: list[int | None] = []
        for split in plan.splits:
            old = split.story.id if split.story.id is not None else started[split.story.new or 0]
            if old in self.frozen:
                split_to.append(None)
                continue
            self.splits.append((old, [*split.article_ids, *(ref[docs[p]] for p in split.batch)], next(self.ids)))
            split_to.append(self.splits[-1][2])
        self.moved = index.applied(plan, AppliedPlan(tuple(ref[d] for d in docs), started, tuple(split_to)))
        return plan


@needs_ecb
@pytest.mark.parametrize("frozen", [False, True], ids=["open", "carried"])
def test_settle_splits_the_second_event_off_the_story_it_joined(
    corpus: tuple[list[str], dict[str, tuple[str, str]]], frozen: bool
) -> None:
    background, raw = corpus
    info = {doc: _enriched(raw[doc]) for doc in [*background, *JACKSON, *WILLIAMS]}
    ref = {doc: k for k, doc in enumerate([*background, *JACKSON, *WILLIAMS])}  # the article ids
    made = _Stories()
    index = StoryIndex(())
    made.apply(index, background, info, ref)
    made.splits.clear()

    # Jackson's three reports make one story: the plan starts it with the first, the others join it
    assert index.find(info[JACKSON[0]]) is None
    plan = made.apply(index, JACKSON, info, ref)
    assert plan.placements == (StoryRef(new=0),) * 3 and plan.splits == () and made.moved == {}
    jackson = index.find(info[JACKSON[0]])
    assert jackson is not None
    if frozen:
        made.frozen.add(jackson)

    # Williams' first report joins it on arrival (the mistake settle is for), and so do the next two;
    # the plan splits them off whether or not a digest carries the story: only the store knows that
    plan = made.apply(index, WILLIAMS, info, ref)
    assert plan.placements == (StoryRef(id=jackson),) * 3
    assert [(split.story, split.article_ids, split.batch) for split in plan.splits] == [
        (StoryRef(id=jackson), (), (0, 1, 2))
    ]

    if frozen:
        assert made.moved == {} and made.splits == []
        assert {index.find(info[d]) for d in JACKSON + WILLIAMS} == {jackson}
        return
    [(old, refs, williams)] = made.splits  # one new story, for exactly the Williams reports, oldest first
    assert old == jackson and refs == [ref[d] for d in WILLIAMS]
    assert made.moved == {ref[d]: williams for d in WILLIAMS}
    # an exact copy of each article now finds the story that article is in
    assert [index.find(info[d]) for d in JACKSON] == [jackson] * 3
    assert [index.find(info[d]) for d in WILLIAMS] == [williams] * 3
    # and every other report of either arrest (7 on Jackson, 8 on Williams) finds its own event's story
    later = {d: d.endswith("ecbplus") for d in raw if d.startswith("35_") and d not in JACKSON + WILLIAMS}
    assert len(later) == 15
    for doc, is_williams in later.items():
        assert index.find(_enriched(raw[doc])) == (williams if is_williams else jackson), doc
    # a later batch that touches neither story splits nothing
    assert made.apply(index, [], info, ref).splits == () and made.moved == {} and len(made.splits) == 1


def test_applied_wants_the_plan_and_one_article_id_per_planned_article() -> None:
    index = StoryIndex(())
    ferry = _enriched(("Ferry fares rise", "Island Ferries raised fares by 8% on the Gull Island route."))
    plan = index.plan([ferry])
    assert plan.placements == (StoryRef(new=0),) and plan.new_stories == 1 and index.pending
    with pytest.raises(ValueError, match="0 article ids, 1 stories and 0 splits for a plan of 1, 1 and 0"):
        index.applied(plan, AppliedPlan((), (5,), ()))
    with pytest.raises(ValueError, match="not the plan"):
        index.applied(ClusterPlan((StoryRef(new=0),), 1), AppliedPlan((9,), (5,), ()))
    # a plan the store did not apply leaves the index unusable until it is built again
    with pytest.raises(RuntimeError, match="never applied"):
        index.plan([ferry])
    assert index.applied(plan, AppliedPlan((9,), (5,), ())) == {} and not index.pending
    assert index.find(ferry) == 5


def test_a_batch_joins_the_story_its_own_first_article_started() -> None:
    """The stand-in id of a story the plan starts is what later articles of the batch join, and the
    store's id replaces it everywhere the index keeps it (exact copies, near copies, similar reports)."""
    a = _enriched(("Ferry fares rise", "Island Ferries raised fares by 8% on the Gull Island route on Monday."))
    b = _enriched(("Ferry fares up 8%", "Island Ferries raised fares by 8% on the Gull Island route on Monday!"))
    index = StoryIndex(())
    plan = index.plan([a, b, a])
    assert plan.placements == (StoryRef(new=0),) * 3 and plan.new_stories == 1
    index.applied(plan, AppliedPlan((1, 2, 3), (40,), ()))
    assert index.find(a) == index.find(b) == 40


# --- the store ------------------------------------------------------------------------------------


def _poll(
    store: Store, index: StoryIndex, feed_id: int, docs: list[str], raw: dict[str, tuple[str, str]], now: datetime
) -> None:
    """One feed's batch, stored the way poll.store_items does it (the index plans, the store applies)."""
    batch, infos = [], []
    for doc in docs:
        title, text = _cleaned(raw[doc])
        info = _enriched(raw[doc])
        values: dict[str, Any] = {
            "feed_id": feed_id,
            "guid": doc,
            "url": None,
            "canonical_url": None,
            "title": title,
            "text": text,
            "author": None,
            "published_at": None,
            "first_seen_at": now,
            "content_hash": info.content_hash,
            "summary": [],
            "entities": [],
            "shingles": info.shingles,
        }
        batch.append(values)
        infos.append(info)
    plan = index.plan(infos)
    applied = store.add_articles(batch, plan, now)
    assert len(applied.article_ids) == len(docs)
    index.applied(plan, applied)


def _articles(store: Store) -> dict[str, Any]:
    with store.engine.connect() as conn:
        return {r.guid: r for r in conn.execute(sa.select(articles.c.id, articles.c.guid, articles.c.story_id))}


def _stories(store: Store) -> dict[int, Any]:
    with store.engine.connect() as conn:
        return {r.id: r for r in conn.execute(sa.select(stories))}


def _jackson_story(
    corpus: tuple[list[str], dict[str, tuple[str, str]]], db_url: str
) -> tuple[Store, StoryIndex, tuple[int, int, int], dict[str, tuple[str, str]]]:
    """A store and its index after the background and Jackson's three reports (feeds f1 and f2);
    returns them with the ids of feeds f1, f2, f3 and the raw texts."""
    background, raw = corpus
    store = Store.open(db_url)
    wire, f1, f2, f3 = (store.add_feed(f"https://{n}.example/feed", T0, name=n) for n in ("wire", "f1", "f2", "f3"))
    index = StoryIndex(())
    _poll(store, index, wire, background, raw, T0)
    _poll(store, index, f1, JACKSON[:2], raw, T0 + timedelta(hours=1))
    _poll(store, index, f2, JACKSON[2:], raw, T0 + timedelta(hours=2))
    return store, index, (f1, f2, f3), raw


@needs_ecb
@pytest.mark.parametrize("carried", [False, True], ids=["open", "carried"])
def test_store_moves_the_split_off_articles_to_a_new_story_row(
    corpus: tuple[list[str], dict[str, tuple[str, str]]], db_url: str, carried: bool
) -> None:
    store, index, (_, f2, f3), raw = _jackson_story(corpus, db_url)
    jackson = _articles(store)[JACKSON[0]].story_id
    assert {_articles(store)[d].story_id for d in JACKSON} == {jackson}
    if carried:
        sub = store.upsert_subscription(ChannelRef("console", "#news"), T0, schedule=["08:00"], timezone="UTC")
        when = T0 + timedelta(hours=2, minutes=30)
        assert store.create_digest(sub, when, "News", [jackson], when) is not None

    # Williams' first report (from a third feed) joins Jackson's story: three sources now
    _poll(store, index, f3, WILLIAMS[:1], raw, T0 + timedelta(hours=3))
    assert _articles(store)[WILLIAMS[0]].story_id == jackson
    assert _stories(store)[jackson].sources == 3
    count_before = len(_stories(store))
    _poll(store, index, f2, WILLIAMS[1:], raw, T0 + timedelta(hours=4))

    arts, rows = _articles(store), _stories(store)
    old = rows[jackson]
    assert old.title == _cleaned(raw[JACKSON[0]])[0] and old.representative_id == arts[JACKSON[0]].id
    if carried:  # a digest has it: nothing moves, and no story is made
        assert {arts[d].story_id for d in JACKSON + WILLIAMS} == {jackson}
        assert len(rows) == count_before and old.sources == 3
        store.close()
        return
    assert {arts[d].story_id for d in JACKSON} == {jackson}
    [williams] = {arts[d].story_id for d in WILLIAMS}
    assert williams != jackson and len(rows) == count_before + 1
    new = rows[williams]
    # titled and dated by the oldest moved article, represented by it, counted anew
    assert new.title == _cleaned(raw[WILLIAMS[0]])[0]
    assert new.first_seen_at.replace(tzinfo=UTC) == T0 + timedelta(hours=3)
    assert new.representative_id == arts[WILLIAMS[0]].id
    assert (old.sources, new.sources) == (2, 2)  # Jackson: f1, f2; Williams: f3, f2
    assert new.updated_at.replace(tzinfo=UTC) == old.updated_at.replace(tzinfo=UTC) == T0 + timedelta(hours=4)

    # the index the poller keeps agrees with the database: later reports find the right story
    assert index.find(_enriched(raw["35_5ecbplus"])) == williams
    assert index.find(_enriched(raw["35_2ecb"])) == jackson
    store.close()


# --- newsbot inspect cluster --settled -------------------------------------------------------------


def _watched(lines: list[str], out: io.StringIO, *, streaming: bool) -> Iterator[str]:
    """run_inspect's input lines, checking as each is read how many lines have been written by then:
    all earlier ones when streaming, none when settled."""
    for k, line in enumerate(lines):
        written = len(out.getvalue().splitlines())
        assert written == (k if streaming else 0), f"{written} lines out when line {k + 1} is read"
        yield line + "\n"


def _lines(corpus: tuple[list[str], dict[str, tuple[str, str]]]) -> list[str]:
    background, raw = corpus
    return [json.dumps({"id": d, "title": raw[d][0], "text": raw[d][1]}) for d in [*background, *JACKSON, *WILLIAMS]]


def _labels(lines: list[str], *, settled: bool) -> list[tuple[str, str]]:
    out, err = io.StringIO(), io.StringIO()
    inp = cast(TextIO, _watched(lines, out, streaming=not settled))  # run_inspect only iterates it
    code = run_inspect("cluster", inp, out, err, DigestSettings(), settled=settled)
    assert code == 0 and err.getvalue() == ""
    return [(o["id"], o["story"]) for o in map(json.loads, out.getvalue().splitlines())]


@needs_ecb
def test_inspect_cluster_settled_writes_the_stories_as_they_end(
    corpus: tuple[list[str], dict[str, tuple[str, str]]],
) -> None:
    lines = _lines(corpus)
    ids = [json.loads(line)["id"] for line in lines]
    streaming, settled = _labels(lines, settled=False), _labels(lines, settled=True)
    assert [i for i, _ in streaming] == [i for i, _ in settled] == ids  # one line each, in input order
    stream, final = dict(streaming), dict(settled)
    assert [stream[d] for d in JACKSON] == [final[d] for d in JACKSON] == ["35_1ecb"] * 3
    # each line is one pass: Williams' first two reports were labelled Jackson's story when they
    # came; the third one's pass split the story, so its line already names Williams' own story
    assert [stream[d] for d in WILLIAMS] == ["35_1ecb", "35_1ecb", "35_1ecbplus"]
    assert [final[d] for d in WILLIAMS] == ["35_1ecbplus"] * 3
    # and nothing else changed label by the end
    assert {d for d in ids if stream[d] != final[d]} == set(WILLIAMS[:2])


def test_settled_is_for_cluster_only() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run_inspect("condense", io.StringIO('{"id": 1, "text": "x"}\n'), out, err, DigestSettings(), settled=True)
    assert code == 1 and out.getvalue() == ""
    assert "--settled is for cluster only" in err.getvalue()


@needs_ecb
def test_cli_inspect_cluster_settled(corpus: tuple[list[str], dict[str, tuple[str, str]]], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndatabase = "sqlite:///{tmp_path / "unused.db"}"\n', encoding="utf-8")
    lines = _lines(corpus)
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "inspect", "cluster", "--settled", "--config", str(config)],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    got = [(o["id"], o["story"]) for o in map(json.loads, proc.stdout.splitlines())]
    assert got == _labels(lines, settled=True)
    assert dict(got)[WILLIAMS[0]] == "35_1ecbplus"


def test_split_off_moves_nothing_that_left_the_story_already(db_url: str) -> None:
    """A worker whose index is stale (another worker split the story first) moves nothing and
    leaves no empty story behind."""
    from bot.store.articles import _split_off

    store = Store.open(db_url)
    feed = store.add_feed("https://wire.example/feed", T0, name="wire")
    with store.engine.begin() as conn:
        story_a, story_b = (
            conn.execute(
                stories.insert().values(title=t, first_seen_at=T0, updated_at=T0, sources=1)
            ).inserted_primary_key[0]
            for t in ("A", "B")
        )
        ids = [
            conn.execute(
                articles.insert().values(
                    feed_id=feed,
                    guid=g,
                    title=g,
                    text="",
                    first_seen_at=T0,
                    content_hash=g,
                    story_id=story_b,
                    summary=[],
                    entities=[],
                    shingles=[],
                )
            ).inserted_primary_key[0]
            for g in ("x", "y")
        ]
        before = conn.scalar(sa.select(sa.func.count()).select_from(stories))
        # the articles are in story B now, not in A where the stale index thinks they are
        assert _split_off(conn, story_a, ids, T0) == story_a
        assert conn.scalar(sa.select(sa.func.count()).select_from(stories)) == before
        assert set(conn.scalars(sa.select(articles.c.story_id).where(articles.c.id.in_(ids)))) == {story_b}
    store.close()


@needs_ecb
def test_a_digest_planned_during_a_split_waits_and_carries_the_story_as_split(
    corpus: tuple[list[str], dict[str, tuple[str, str]]], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduler plans a digest while a poll is splitting the story it picks: the plan waits for
    the poll's transaction, so it never carries articles that are about to move to another story."""
    import threading

    store, index, (_, f2, f3), raw = _jackson_story(corpus, db_url)
    _poll(store, index, f3, WILLIAMS[:1], raw, T0 + timedelta(hours=3))
    jackson = _articles(store)[JACKSON[0]].story_id
    sub = store.upsert_subscription(ChannelRef("console", "#news"), T0, schedule=["08:00"], timezone="UTC")

    inside, release = threading.Event(), threading.Event()
    real_carried = bot.store.articles._carried

    def slow_carried(*args: Any) -> set[int]:
        # the poll's transaction has its articles in and its stories locked, and is about to read
        # which of them a digest carries
        inside.set()
        assert release.wait(10)
        return real_carried(*args)

    monkeypatch.setattr(bot.store.articles, "_carried", slow_carried)
    poll = threading.Thread(target=_poll, args=(store, index, f2, WILLIAMS[1:], raw, T0 + timedelta(hours=4)))
    poll.start()
    assert inside.wait(10)
    planned: list[int | None] = []
    when = T0 + timedelta(hours=4, minutes=1)
    plan = threading.Thread(target=lambda: planned.append(store.create_digest(sub, when, "News", [jackson], when)))
    plan.start()
    plan.join(0.5)
    assert plan.is_alive() and not planned  # waiting for the poll
    release.set()
    poll.join(10)
    plan.join(10)
    assert not poll.is_alive() and not plan.is_alive() and planned[0] is not None

    arts = _articles(store)
    [williams] = {arts[d].story_id for d in WILLIAMS}
    assert williams != jackson and {arts[d].story_id for d in JACKSON} == {jackson}
    digest = store.digest(planned[0])
    assert digest is not None and list(digest.story_ids) == [jackson]
    store.close()
