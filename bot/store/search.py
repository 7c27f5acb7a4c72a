"""Full-text lookups over stored articles: SQLite FTS5 with bm25, PostgreSQL tsvector with ts_rank.

Users' words never reach the query syntax raw: each word or quoted phrase is quoted (FTS5)
or bound as its own plainto/phraseto_tsquery parameter (PostgreSQL). All words must match;
when nothing does, any word but the common little ones may.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.models import SearchHit
from bot.store.schema import UTCDateTime

CANDIDATES = 200  # best text matches re-ranked for recency; plenty for a top 5
STOPWORDS = frozenset(
    (
        "the and for with from that this are was were has have had not but its into about over after than "
        "then what when who how why which will would can could been being they them their there here you your "
        "our his her she him out off all any new"
    ).split()
)


class SearchQueries:
    engine: Engine

    def search_articles(self, words: Sequence[str], feed_ids: Sequence[int] | None = None) -> list[SearchHit]:
        """Articles matching every word or phrase (or, failing that, any), best text match first."""
        words = [w.strip() for w in words if w.strip()]
        if not words or (feed_ids is not None and not feed_ids):
            return []
        hits = self._match(words, feed_ids, require_all=True)
        if hits or len(words) == 1:
            return hits
        # nothing has them all: any one will do, but not the little words every article has
        content = [w for w in words if " " in w or (len(w) > 2 and w.casefold() not in STOPWORDS)]
        return self._match(content, feed_ids, require_all=False) if content else []

    def _match(self, words: Sequence[str], feed_ids: Sequence[int] | None, require_all: bool) -> list[SearchHit]:
        params: dict[str, object] = {"limit": CANDIDATES}
        scope = ""
        if feed_ids is not None:
            # an article counts for every feed that carries it, not only the one that fetched it first
            scope = (
                " AND a.id IN (SELECT article_id FROM article_feeds WHERE feed_id IN ("
                + ", ".join(f":f{i}" for i in range(len(feed_ids)))
                + "))"
            )
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
            # one bound parameter per word or phrase, so no user text is read as query syntax
            parts = []
            for i, w in enumerate(words):
                params[f"w{i}"] = w
                parts.append(f"{'phraseto' if ' ' in w else 'plainto'}_tsquery('english', :w{i})")
            tsquery = "(" + (" && " if require_all else " || ").join(parts) + ")"
            sql = (
                "SELECT a.id, a.story_id, ts_rank(f.document, qq.q) AS rel, " + when + " AS at "
                "FROM articles_fts f JOIN articles a ON a.id = f.article_id, "
                f"(SELECT {tsquery} AS q) qq "
                f"WHERE f.document @@ qq.q AND a.story_id IS NOT NULL{scope} ORDER BY rel DESC LIMIT :limit"
            )
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(sql).columns(
                    sa.column("id"), sa.column("story_id"), sa.column("rel"), sa.column("at", UTCDateTime())
                ),
                params,
            ).all()
        return [SearchHit(r.id, r.story_id, float(r.rel), r.at) for r in rows]
