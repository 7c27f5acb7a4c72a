"""Articles and stories: exact-dedupe lookups, a batch stored as the story index planned it, the search index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.errors import StorageConflict
from bot.models import AppliedPlan, Candidate, ClusterPlan, StoryRef
from bot.store.rows import StoredArticle, new_id
from bot.store.schema import (
    FEED_REMOVALS,
    article_feeds,
    articles,
    counters,
    digest_items,
    feeds,
    stories,
)
from bot.store.upsert import insert_missing


class ArticleQueries:
    engine: Engine

    def known_keys(self, feed_id: int, guids: Sequence[str], urls: Sequence[str]) -> tuple[set[str], dict[str, int]]:
        """Of these, the GUIDs this feed already carries, and the canonical URLs any feed has
        stored, each with its article's id (one pass each)."""
        known_guids: set[str] = set()
        known_urls: dict[str, int] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(set(guids))):
                known_guids.update(
                    conn.scalars(
                        sa.select(article_feeds.c.guid).where(
                            article_feeds.c.feed_id == feed_id, article_feeds.c.guid.in_(chunk)
                        )
                    )
                )
            for chunk in _chunks(list(set(urls))):
                for url, article_id in conn.execute(
                    sa.select(articles.c.canonical_url, sa.func.min(articles.c.id))
                    .where(articles.c.canonical_url.in_(chunk))
                    .group_by(articles.c.canonical_url)
                ):
                    known_urls[url] = int(article_id)
        return known_guids, known_urls

    def link_articles(self, feed_id: int, links: Sequence[tuple[int, str]], now: datetime) -> int:
        """Record that this feed carries these stored articles too, as (article id, the feed's GUID
        for it): the channels of this feed then get their stories like those of the feed that
        fetched them first. Returns how many links were new."""
        if not links:
            return 0
        # one row per GUID: the same GUID twice in one feed is one item
        rows = {g: {"feed_id": feed_id, "guid": g, "article_id": aid, "first_seen_at": now} for aid, g in links}
        with self.engine.begin() as conn:
            # another poller of this feed may link the same items at the same moment: theirs stands
            return insert_missing(conn, article_feeds, list(rows.values()), ["feed_id", "guid"])

    def add_articles(self, batch: Sequence[dict[str, Any]], plan: ClusterPlan, now: datetime) -> AppliedPlan:
        """Insert a feed's new articles (their column values) as the story index planned them, in one
        transaction: the stories the plan starts, each article in its story, then the plan's splits,
        except those of stories a digest has carried (checked here, under the stories' lock).
        Returns the ids the index needs (bot.clustering.StoryIndex.applied)."""
        if len(batch) != len(plan.placements):
            raise ValueError(f"add_articles got {len(batch)} articles for a plan of {len(plan.placements)}")
        if not batch:
            return AppliedPlan((), (), ())
        try:
            return self._add_articles(batch, plan, now)
        except sa.exc.IntegrityError:
            # two pollers of one feed (poll --all, digest --once) both found these items new
            raise StorageConflict("another process stored some of these articles at the same moment") from None

    def _add_articles(self, batch: Sequence[dict[str, Any]], plan: ClusterPlan, now: datetime) -> AppliedPlan:
        with self.engine.begin() as conn:
            # each new story is made by its first article, in the order the plan started them; the
            # articles then go in as one executemany (row by row on SQLite, where an ordered
            # RETURNING cannot be batched), the search rows as another, and the touched stories get
            # one UPDATE: two statements an article fewer than inserting each in turn.
            made: list[int] = []
            story_ids: list[int] = []
            for values, place in zip(batch, plan.placements, strict=True):
                if place.new is not None and place.new == len(made):
                    made.append(
                        new_id(
                            conn.execute(
                                stories.insert().values(
                                    title=values["title"], first_seen_at=now, updated_at=now, sources=1
                                )
                            )
                        )
                    )
                story_ids.append(_story_id(place, made))
            if len(made) != plan.new_stories:
                raise ValueError(f"the plan starts {plan.new_stories} stories but places articles in {len(made)}")
            article_ids = conn.scalars(
                articles.insert().returning(articles.c.id, sort_by_parameter_order=True),
                [{**values, "story_id": sid} for values, sid in zip(batch, story_ids, strict=True)],
            ).all()
            conn.execute(
                article_feeds.insert(),
                [
                    {"feed_id": values["feed_id"], "guid": values["guid"], "article_id": aid, "first_seen_at": now}
                    for aid, values in zip(article_ids, batch, strict=True)
                ],
            )
            index_articles(
                conn,
                [
                    (aid, values["title"], values["summary"], values["entities"])
                    for aid, values in zip(article_ids, batch, strict=True)
                ],
            )
            touched = set(story_ids)
            if conn.dialect.name == "postgresql":
                # a digest being planned now waits for this transaction (create_digest takes its
                # stories FOR SHARE), so it never carries articles a split is about to move
                conn.execute(
                    sa.select(stories.c.id)
                    .where(stories.c.id.in_(sorted(touched)))
                    .order_by(stories.c.id)
                    .with_for_update(key_share=True)
                )
            carried = _carried(conn, touched)
            split_to: list[int | None] = []
            for split in plan.splits:
                old = _story_id(split.story, made)
                if old in carried:  # posted (or planned) with these articles: nothing posted moves
                    split_to.append(None)
                    continue
                ids = [*split.article_ids, *(article_ids[pos] for pos in split.batch)]
                target = _split_off(conn, old, ids, now)
                split_to.append(None if target == old else target)
                if target != old:
                    touched.add(target)
            _update_stories(conn, touched, now)
        return AppliedPlan(tuple(article_ids), tuple(made), tuple(split_to))

    def cluster_candidates_after(self, since: datetime, after_id: int) -> tuple[list[Candidate], int]:
        """Every clustered article first seen since `since` with an id above `after_id`, for the story
        index; also the highest id stored."""
        query = (
            sa.select(
                articles.c.id,
                articles.c.story_id,
                articles.c.content_hash,
                articles.c.shingles,
                articles.c.published_at,
            )
            .where(articles.c.first_seen_at >= since, articles.c.story_id.is_not(None), articles.c.id > after_id)
            .order_by(articles.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Candidate(r.story_id, r.content_hash, r.shingles, r.published_at, r.id) for r in rows], max(
            after_id, self.max_article_id()
        )

    def max_article_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.max(articles.c.id))) or 0)

    def feed_removals(self) -> int:
        """How many feeds any process has removed (with their articles) from this database: a story
        index built before the count moved holds articles that are gone, whose ids SQLite may reuse."""
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(counters.c.value).where(counters.c.name == FEED_REMOVALS)) or 0)

    def feeds_carrying(self, article_ids: Sequence[int]) -> dict[int, set[int]]:
        """Every feed that lists each of these articles (the one that fetched it first and the others)."""
        out: dict[int, set[int]] = {aid: set() for aid in article_ids}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(article_ids))):
                for aid, fid in conn.execute(
                    sa.select(article_feeds.c.article_id, article_feeds.c.feed_id).where(
                        article_feeds.c.article_id.in_(chunk)
                    )
                ):
                    out[int(aid)].add(int(fid))
        return out

    def story_articles(self, story_ids: Sequence[int]) -> dict[int, list[StoredArticle]]:
        """Each story's articles, oldest first, with their feed's display name as source."""
        query = (
            sa.select(
                articles,
                feeds.c.name.label("feed_name"),
                feeds.c.title.label("feed_title"),
                feeds.c.url.label("feed_url"),
            )
            .join(feeds, feeds.c.id == articles.c.feed_id)
            .where(articles.c.story_id.in_(list(story_ids)))
            .order_by(articles.c.id)
        )
        out: dict[int, list[StoredArticle]] = {sid: [] for sid in story_ids}
        with self.engine.connect() as conn:
            for r in conn.execute(query):
                out[r.story_id].append(
                    StoredArticle(
                        id=r.id,
                        feed_id=r.feed_id,
                        source=r.feed_name or r.feed_title or r.feed_url,
                        title=r.title,
                        url=r.url,
                        text=r.text,
                        published_at=r.published_at,
                        first_seen_at=r.first_seen_at,
                        summary=r.summary,
                        entities=r.entities,
                        story_id=r.story_id,
                    )
                )
        return out


def index_article(
    conn: sa.Connection, article_id: int, title: str, summary: list[str], entities: list[dict[str, Any]]
) -> None:
    """Add an article to the full-text index (FTS5 on SQLite, a weighted tsvector on PostgreSQL)."""
    index_articles(conn, [(article_id, title, summary, entities)])


def index_articles(conn: sa.Connection, rows: Sequence[tuple[int, str, list[str], list[dict[str, Any]]]]) -> None:
    """`index_article` for several articles in one statement: (id, title, summary, entities) each."""
    params = [
        {"id": aid, "t": title, "s": " ".join(summary), "e": " ".join(str(e.get("text", "")) for e in entities)}
        for aid, title, summary, entities in rows
    ]
    if not params:
        return
    if conn.dialect.name == "sqlite":
        conn.execute(
            sa.text("INSERT INTO articles_fts (rowid, title, summary, entities) VALUES (:id, :t, :s, :e)"), params
        )
    else:
        conn.execute(
            sa.text(
                "INSERT INTO articles_fts (article_id, document) VALUES (:id, "
                "setweight(to_tsvector('english', :t), 'A') || setweight(to_tsvector('english', :s), 'B') || "
                "setweight(to_tsvector('simple', :e), 'A'))"
            ),
            params,
        )


K = TypeVar("K", str, int)


def _story_id(ref: StoryRef, made: Sequence[int]) -> int:
    """A plan's story reference as a story id: stored, or one of the stories this batch made."""
    if ref.id is not None:
        return ref.id
    assert ref.new is not None
    if ref.new >= len(made):
        raise ValueError(f"the plan places an article in new story {ref.new} before starting it")
    return made[ref.new]


def _chunks(values: list[K], size: int = 500) -> list[list[K]]:
    # SQLite allows a limited number of bound parameters per statement
    return [values[i : i + size] for i in range(0, len(values), size)]


def _carried(conn: sa.Connection, story_ids: set[int]) -> set[int]:
    """Which of these stories a digest has carried (or planned): those never split."""
    carried: set[int] = set()
    for chunk in _chunks(sorted(story_ids)):
        carried.update(conn.scalars(sa.select(digest_items.c.story_id).where(digest_items.c.story_id.in_(chunk))))
    return carried


def _split_off(conn: sa.Connection, old: int, article_ids: list[int], now: datetime) -> int:
    """Move these articles of story `old` to a new story (titled and dated by the oldest of them);
    returns its id, or `old` when none of them is in `old` any more."""
    first = conn.execute(
        sa.select(articles.c.title, articles.c.first_seen_at)
        .where(articles.c.id.in_(article_ids), articles.c.story_id == old)
        .order_by(articles.c.id)
        .limit(1)
    ).first()
    if first is None:  # none of them is in `old` any more (another worker moved or removed them)
        return old
    story_id = new_id(
        conn.execute(
            stories.insert().values(title=first.title, first_seen_at=first.first_seen_at, updated_at=now, sources=1)
        )
    )
    moved = 0
    for chunk in _chunks(sorted(article_ids)):
        # only from `old`: another worker may have moved some since this worker's index learnt of them
        moved += conn.execute(
            articles.update().where(articles.c.id.in_(chunk), articles.c.story_id == old).values(story_id=story_id)
        ).rowcount
    if not moved:  # they left between the two statements
        conn.execute(stories.delete().where(stories.c.id == story_id))
        return old
    # the old story's representative may have left with them: _update_stories picks its first article again
    conn.execute(
        stories.update()
        .where(stories.c.id == old, stories.c.representative_id.in_(article_ids))
        .values(representative_id=None)
    )
    return story_id


def _update_stories(conn: sa.Connection, touched: set[int], now: datetime) -> None:
    """After a batch, in one statement per 500 stories: each touched story's count of distinct
    sources and update time, and a new story's first article as its representative."""
    source_count = (
        sa.select(sa.func.count(sa.distinct(articles.c.feed_id)))
        .where(articles.c.story_id == stories.c.id)
        .scalar_subquery()
    )
    first_article = sa.select(sa.func.min(articles.c.id)).where(articles.c.story_id == stories.c.id).scalar_subquery()
    for chunk in _chunks(sorted(touched)):
        conn.execute(
            stories.update()
            .where(stories.c.id.in_(chunk))
            .values(
                updated_at=now,
                sources=source_count,
                representative_id=sa.func.coalesce(stories.c.representative_id, first_article),
            )
        )
