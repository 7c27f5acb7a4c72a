"""Search latency over 100,000 stored articles: newsbot's full-text lookup next to a plain LIKE scan.

Articles are generated from the real-world feeds in ../shared/data/feeds/realworld (each entry
repeated with a numbered variant of its title and spread over 90 days), stored in a fresh
SQLite file (and PostgreSQL when NEWSBOT_TEST_POSTGRES_URL or the default local server answers).
Both methods answer the same queries in the same run; the script prints p50/p99 per method.

    python benchmarks/search.py [--articles 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.commands.router import top_stories  # noqa: E402
from bot.config import settings_from_dict  # noqa: E402
from bot.ingest.parse import parse_feed  # noqa: E402
from bot.nlp.sentences import split_sentences  # noqa: E402
from bot.store.articles import index_article  # noqa: E402
from bot.store.schema import articles, feeds, stories  # noqa: E402
from bot.store.store import Store  # noqa: E402

REALWORLD = ROOT.parent / "shared" / "data" / "feeds" / "realworld"
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
WORD = re.compile(r"[A-Za-z]{5,}")


def entries() -> list[tuple[str, str]]:
    out = []
    with open(REALWORLD / "MANIFEST.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                parsed = parse_feed((REALWORLD / row["path"]).read_bytes(), url="https://feeds.example/", now=NOW)
            except Exception:
                continue
            out += [(i.title, i.text[:1500]) for i in parsed.items if i.title]
    return out


def fill(store: Store, base: list[tuple[str, str]], n: int) -> None:
    rng = random.Random(7)
    with store.engine.begin() as conn:
        feed_id = conn.execute(feeds.insert().values(url="https://feeds.example/", added_at=NOW)).inserted_primary_key
        fid = feed_id[0] if feed_id else 1
        for start in range(0, n, 5000):
            batch = []
            for i in range(start, min(n, start + 5000)):
                title, text = base[i % len(base)]
                title = f"{title} ({i // len(base)})" if i >= len(base) else title
                when = NOW - timedelta(minutes=rng.randrange(90 * 24 * 60))
                summary = split_sentences(text)[:2] or [title]
                batch.append((i + 1, title, text, summary, when))
            conn.execute(
                stories.insert(),
                [
                    {"id": i, "title": t, "first_seen_at": w, "updated_at": w, "representative_id": i, "sources": 1}
                    for i, t, _, _, w in batch
                ],
            )
            conn.execute(
                articles.insert(),
                [
                    {
                        "id": i,
                        "feed_id": fid,
                        "guid": f"g{i}",
                        "url": f"https://feeds.example/{i}",
                        "canonical_url": f"https://feeds.example/{i}",
                        "title": t,
                        "text": x,
                        "published_at": w,
                        "first_seen_at": w,
                        "content_hash": f"h{i}",
                        "summary": s,
                        "entities": [],
                        "shingles": [],
                        "story_id": i,
                    }
                    for i, t, x, s, w in batch
                ],
            )
            for i, t, _, s, _ in batch:
                index_article(conn, i, t, s, [])
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


def search_like(store: Store, words: list[str], limit: int = 5) -> list[int]:
    """The plain LIKE scan a simple bot would use: the baseline."""
    cond = sa.and_(*[sa.or_(articles.c.title.ilike(f"%{w}%"), articles.c.text.ilike(f"%{w}%")) for w in words])
    with store.engine.connect() as conn:
        query = sa.select(articles.c.id).where(cond).order_by(articles.c.first_seen_at.desc()).limit(limit)
        return list(conn.scalars(query))


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def measure(label: str, store: Store, queries: list[list[str]], settings: object, feed_ids: list[int]) -> None:
    fts, like = [], []
    for words in queries:
        t = time.perf_counter()
        top_stories(store, settings, words, feed_ids, NOW)  # type: ignore[arg-type]
        fts.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        search_like(store, words)
        like.append((time.perf_counter() - t) * 1000)
    print(
        f"{label}: newsbot search (full-text index + recency re-rank, top 5): "
        f"p50 {percentile(fts, 0.5):.1f} ms, p99 {percentile(fts, 0.99):.1f} ms, mean {statistics.mean(fts):.1f} ms"
    )
    print(
        f"{label}: baseline LIKE '%word%' on title and text, newest 5:           "
        f"p50 {percentile(like, 0.5):.1f} ms, p99 {percentile(like, 0.99):.1f} ms, mean {statistics.mean(like):.1f} ms"
    )
    print(
        f"{label}: speed-up at p50 {percentile(like, 0.5) / percentile(fts, 0.5):.0f}x, "
        f"at p99 {percentile(like, 0.99) / percentile(fts, 0.99):.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    if not REALWORLD.is_dir():
        sys.exit(f"needs {REALWORLD} (the shared corpora)")
    base = entries()
    words = [w.lower() for t, _ in base for w in WORD.findall(t)]
    rng = random.Random(11)
    queries = [rng.sample(words, rng.choice((1, 1, 2))) for _ in range(args.queries)]
    print(f"{len(base)} real feed entries -> {args.articles} articles; {len(queries)} queries of 1-2 title words")
    targets = []
    with tempfile.TemporaryDirectory() as tmp:
        targets.append(("SQLite", f"sqlite:///{tmp}/bench.db"))
        pg = os.environ.get("NEWSBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        admin = None
        name = f"newsbot_bench_{uuid.uuid4().hex[:8]}"
        try:
            admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2})
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            targets.append(("PostgreSQL", sa.engine.make_url(pg).set(database=name).render_as_string(False)))
        except Exception as exc:
            print(f"PostgreSQL skipped: {exc.__class__.__name__}")
            admin = None
        try:
            for label, url in targets:
                store = Store.open(url)
                t = time.perf_counter()
                fill(store, base, args.articles)
                print(f"{label}: stored and indexed {args.articles} articles in {time.perf_counter() - t:.1f} s")
                settings = settings_from_dict({"bot": {"database": url}}, Path(tmp) / "c.toml")
                measure(label, store, queries, settings, [1])
                store.close()
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
