"""Full-text lookups over stored articles: SQLite FTS5 with bm25, PostgreSQL tsvector with ts_rank.

Users' words never reach the query syntax raw: each word or quoted phrase is quoted (FTS5)
or passed through websearch_to_tsquery (PostgreSQL). All words must match; when nothing
does, any word may.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.schema import UTCDateTime, articles

CANDIDATES = 200  # best text matches re-ranked for recency; plenty for a top 5


@dataclass(frozen=True)
class SearchHit:
    article_id: int
    story_id: int
    relevance: float  # higher is better, comparable only within one lookup
    when: datetime


class SearchQueries:
    engine: Engine

    def search_articles(self, words: Sequence[str], feed_ids: Sequence[int] | None = None) -> list[SearchHit]:
        """Articles matching every word or phrase (or, failing that, any), best text match first."""
        words = [w.strip() for w in words if w.strip()]
        if not words or (feed_ids is not None and not feed_ids):
            return []
        for require_all in (True, False):
            hits = self._match(words, feed_ids, require_all)
            if hits or len(words) == 1:
                return hits
        return []

    def _match(self, words: Sequence[str], feed_ids: Sequence[int] | None, require_all: bool) -> list[SearchHit]:
        params: dict[str, object] = {"limit": CANDIDATES}
        scope = ""
        if feed_ids is not None:
            scope = " AND a.feed_id IN (" + ", ".join(f":f{i}" for i in range(len(feed_ids))) + ")"
            params.update({f"f{i}": fid for i, fid in enumerate(feed_ids)})
        when = "COALESCE(a.published_at, a.first_seen_at)"
        if self.engine.dialect.name == "sqlite":
            quoted = ['"' + w.replace('"', '""') + '"' for w in words]
            params["q"] = (" " if require_all else " OR ").join(quoted)
            # bm25 weights: a word in the title or among the entities counts more than in the summary
            sql = (
                f"SELECT a.id, a.story_id, -bm25(articles_fts, 10.0, 2.0, 6.0) AS rel, {when} AS at "
                "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
                f"WHERE articles_fts MATCH :q AND a.story_id IS NOT NULL{scope} ORDER BY rel DESC LIMIT :limit"
            )
        else:
            quoted = ['"' + w.replace('"', " ") + '"' if " " in w else w for w in words]
            params["q"] = (" " if require_all else " or ").join(quoted)
            sql = (
                "SELECT a.id, a.story_id, ts_rank(f.document, q) AS rel, " + when + " AS at "
                "FROM articles_fts f JOIN articles a ON a.id = f.article_id, "
                "websearch_to_tsquery('english', :q) q "
                f"WHERE f.document @@ q AND a.story_id IS NOT NULL{scope} ORDER BY rel DESC LIMIT :limit"
            )
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(sql).columns(
                    sa.column("id"), sa.column("story_id"), sa.column("rel"), sa.column("at", UTCDateTime())
                ),
                params,
            ).all()
        return [SearchHit(r.id, r.story_id, float(r.rel), r.at) for r in rows]

    def search_like(self, words: Sequence[str], limit: int = 5) -> list[int]:
        """The plain LIKE scan a simple bot would use; only for the benchmark's baseline."""
        cond = sa.and_(*[sa.or_(articles.c.title.ilike(f"%{w}%"), articles.c.text.ilike(f"%{w}%")) for w in words])
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    sa.select(articles.c.id).where(cond).order_by(articles.c.first_seen_at.desc()).limit(limit)
                )
            )
