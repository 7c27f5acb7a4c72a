"""Storage on SQLite and PostgreSQL: migrations, exact dedupe, digest slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.clustering import StoryIndex
from bot.config import settings_from_dict
from bot.errors import StorageError
from bot.ingest.poll import store_items
from bot.models import ChannelRef, FeedItem, ParsedFeed
from bot.store import migrate
from bot.store.engine import create_engine
from bot.store.schema import metadata
from bot.store.store import Store

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
TABLES = {
    "feeds",
    "articles",
    "stories",
    "subscriptions",
    "subscription_feeds",
    "digests",
    "digest_items",
    "posted_messages",
    "article_feeds",  # the 0001 article, linked to its own feed by 0009
}


def test_empty_database_migrates_to_head_and_again_is_a_no_op(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    before, after = migrate.upgrade(engine)
    assert (before, after) == (None, migrate.head_revision())
    assert set(sa.inspect(engine).get_table_names()) >= TABLES
    assert migrate.upgrade(engine) == (after, after)
    engine.dispose()


def test_migrations_build_exactly_the_declared_schema(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_name": lambda name, kind, parent: not (name or "").startswith("articles_fts")}
        )
        diff = compare_metadata(ctx, metadata)
    engine.dispose()
    assert diff == []


def test_reopening_keeps_the_data(db_url: str) -> None:
    store = Store.open(db_url)
    feed_id = store.add_feed("https://a.example/feed", NOW, name="A")
    store.close()
    again = Store.open(db_url)
    assert [(f.id, f.url, f.name) for f in again.feeds()] == [(feed_id, "https://a.example/feed", "A")]
    again.close()


def test_a_database_from_a_newer_version_is_refused(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StorageError, match="schema revision 9999.*newer version"):
        migrate.upgrade(engine)
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def item(
    guid: str,
    url: str | None,
    title: str = "Harbor bridge reopens after repairs",
    text: str = "The Harbor bridge reopened on Monday after six weeks of repairs, the city said.",
) -> FeedItem:
    return FeedItem(guid=guid, url=url, title=title, text=text, published=NOW)


def test_exact_dedupe_by_guid_and_by_canonical_url(db_url: str, tmp_path: Path) -> None:
    settings = settings_from_dict({"bot": {"database": db_url}}, tmp_path / "c.toml")
    store = Store.open(db_url)
    a = store.feeds([store.add_feed("https://a.example/feed", NOW)])[0]
    b = store.feeds([store.add_feed("https://b.example/feed", NOW)])[0]
    index = StoryIndex([])
    first = ParsedFeed("A", None, (item("a-1", "https://a.example/news/bridge"),))
    assert store_items(store, a, first, settings, NOW, index) == 1
    # the same GUID again, even with another URL and text: not stored twice
    again = ParsedFeed("A", None, (item("a-1", "https://a.example/news/bridge-updated", text="Updated."),))
    assert store_items(store, a, again, settings, NOW, index) == 0
    # another feed carrying the same article under a tracking-decorated URL: same canonical URL
    tracked = ParsedFeed("B", None, (item("b-77", "https://A.example:443/news/bridge?utm_source=rss&fbclid=x#top"),))
    assert store_items(store, b, tracked, settings, NOW, index) == 0
    # a different article from B is stored
    other = ParsedFeed(
        "B",
        None,
        (
            item(
                "b-78",
                "https://b.example/news/ferry",
                title="Ferry fares rise",
                text="Ferry fares rise by ten percent in January, operator Bluewater said.",
            ),
        ),
    )
    assert store_items(store, b, other, settings, NOW, index) == 1
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM articles")).scalar() == 2
    store.close()


def test_same_text_from_two_feeds_is_one_story(db_url: str, tmp_path: Path) -> None:
    settings = settings_from_dict({"bot": {"database": db_url}}, tmp_path / "c.toml")
    store = Store.open(db_url)
    a = store.feeds([store.add_feed("https://a.example/feed", NOW)])[0]
    b = store.feeds([store.add_feed("https://b.example/feed", NOW)])[0]
    index = StoryIndex([])
    store_items(store, a, ParsedFeed("A", None, (item("a-1", "https://a.example/x"),)), settings, NOW, index)
    store_items(store, b, ParsedFeed("B", None, (item("b-1", "https://b.example/y"),)), settings, NOW, index)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT story_id FROM articles ORDER BY id")).scalars().all()
        sources = conn.execute(sa.text("SELECT sources FROM stories")).scalars().all()
    assert len(rows) == 2 and rows[0] == rows[1]
    assert sources == [2]
    store.close()


def test_a_batch_keeps_story_rows_right(db_url: str, tmp_path: Path) -> None:
    """One feed's batch: a copy joins the story its first article started (which stays the
    representative); a later feed's copy counts as a second source and moves the update time."""
    settings = settings_from_dict({"bot": {"database": db_url}}, tmp_path / "c.toml")
    store = Store.open(db_url)
    a = store.feeds([store.add_feed("https://a.example/feed", NOW)])[0]
    b = store.feeds([store.add_feed("https://b.example/feed", NOW)])[0]
    index = StoryIndex([])
    ferry = "Ferry fares rise by ten percent in January, operator Bluewater said on Tuesday."
    batch = ParsedFeed(
        "A",
        None,
        (  # newest first, as feeds list them: stored oldest first
            item("a-3", "https://a.example/bridge-copy"),
            item("a-2", "https://a.example/ferry", title="Ferry fares rise", text=ferry),
            item("a-1", "https://a.example/bridge"),
        ),
    )
    assert store_items(store, a, batch, settings, NOW, index) == 3
    later = NOW + timedelta(hours=1)
    assert store_items(store, b, ParsedFeed("B", None, (item("b-1", "https://b.example/y"),)), settings, later, index)
    with store.engine.connect() as conn:
        ids = dict(conn.execute(sa.text("SELECT guid, id FROM articles")).all())
        story_of = dict(conn.execute(sa.text("SELECT guid, story_id FROM articles")).all())
        rows = {
            r.id: r
            for r in conn.execute(
                sa.text("SELECT id, representative_id, sources, first_seen_at, updated_at FROM stories")
            )
        }
    assert story_of["a-1"] == story_of["a-3"] == story_of["b-1"] != story_of["a-2"]
    bridge, ferry_story = rows[story_of["a-1"]], rows[story_of["a-2"]]
    assert bridge.representative_id == ids["a-1"] and ferry_story.representative_id == ids["a-2"]
    assert (bridge.sources, ferry_story.sources) == (2, 1)
    assert str(bridge.updated_at) > str(bridge.first_seen_at) and str(ferry_story.updated_at) == str(
        ferry_story.first_seen_at
    )
    store.close()


def test_a_digest_slot_is_taken_once(db_url: str) -> None:
    store = Store.open(db_url)
    sub = store.upsert_subscription(ChannelRef("console", "#n"), NOW, schedule=["08:00"], timezone="UTC")
    assert store.create_digest(sub, NOW, "News", [], NOW) is not None
    assert store.create_digest(sub, NOW, "News", [], NOW) is None
    store.close()


def test_upgrading_a_filled_version_1_database_keeps_everything_and_indexes_it(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    assert migrate.upgrade(engine, "0001") == (None, "0001")
    now = {"now": NOW.replace(tzinfo=None)}
    rows = [
        "INSERT INTO feeds (id, url, added_at, failure_count, paused, from_config) "
        "VALUES (1, 'https://a.example/f', :now, 0, false, false)",
        "INSERT INTO stories (id, title, first_seen_at, updated_at, sources) "
        "VALUES (1, 'Ferry fares rise', :now, :now, 1)",
        "INSERT INTO articles (id, feed_id, guid, title, text, first_seen_at, content_hash, summary, entities, "
        "shingles, story_id) VALUES (1, 1, 'g1', 'Ferry fares rise', 'Bluewater raises ferry fares.', :now, 'h', "
        '\'["Bluewater raises ferry fares."]\', \'[{"text": "Bluewater", "label": "ORG"}]\', \'[]\', 1)',
        "INSERT INTO subscriptions (id, platform, channel, schedule, timezone, weekdays, created_at, from_config) "
        "VALUES (1, 'console', '#n', '[]', 'UTC', '[]', :now, false)",
        "INSERT INTO subscription_feeds (subscription_id, feed_id, added_at) VALUES (1, 1, :now)",
        "INSERT INTO digests (id, subscription_id, scheduled_for, created_at, status, title) "
        "VALUES (1, 1, :now, :now, 'posted', 'News')",
        "INSERT INTO digest_items (digest_id, position, story_id) VALUES (1, 1, 1)",
        "INSERT INTO posted_messages (digest_id, position, ref, posted_at) VALUES (1, 0, 'p', :now)",
    ]
    with engine.begin() as conn:
        for sql in rows:
            conn.execute(sa.text(sql), now)
    assert migrate.upgrade(engine) == ("0001", migrate.head_revision())
    with engine.connect() as conn:
        for table in TABLES:
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 1, table
        assert conn.execute(sa.text("SELECT count(*) FROM articles_fts")).scalar() == 1
        if conn.dialect.name == "sqlite":
            hit = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q"
        else:
            hit = "SELECT article_id FROM articles_fts WHERE document @@ plainto_tsquery('simple', :q)"
        assert conn.execute(sa.text(hit), {"q": "bluewater"}).scalars().all() == [1]
        assert conn.execute(sa.text(hit), {"q": "label"}).scalars().all() == []  # names only, not the JSON keys
    store = Store(engine)
    [sub] = store.subscriptions()
    assert sub.follows == () and sub.follow_only is False and store.unsettled_feeds(sub.id) == []
    engine.dispose()


def test_pruning_drops_old_bodies_but_keeps_dedupe_keys(db_url: str, tmp_path: Path) -> None:
    settings = settings_from_dict({"bot": {"database": db_url}}, tmp_path / "c.toml")
    store = Store.open(db_url)
    a = store.feeds([store.add_feed("https://a.example/feed", NOW)])[0]
    store_items(store, a, ParsedFeed("A", None, (item("a-1", "https://a.example/x"),)), settings, NOW, StoryIndex([]))
    later = NOW + timedelta(days=40)
    assert store.prune_bodies(later - timedelta(days=30), later) == 1
    assert store.prune_bodies(later - timedelta(days=30), later) == 0  # already pruned
    assert store.known_keys(a.id, ["a-1"], ["https://a.example/x"]) == ({"a-1"}, {"https://a.example/x": 1})
    [article] = store.story_articles([1])[1]
    assert article.text == "" and article.title == "Harbor bridge reopens after repairs" and article.summary
    store.close()
