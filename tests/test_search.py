"""Full-text search on SQLite (FTS5) and PostgreSQL (tsvector): matching, phrases, recency, scope, safety."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.commands.router import top_stories
from bot.config import Settings
from tests.conftest import FixedClock
from tests.fakes import FlakyAdapter


async def loaded(settings: Settings, clock: FixedClock) -> App:
    app = App.open(settings, clock=clock, adapters={"console": FlakyAdapter()})
    await app.poll()
    return app


async def test_words_phrases_and_entities(demo_settings: Settings, clock: FixedClock) -> None:
    app = await loaded(demo_settings, clock)
    feeds = [f.id for f in app.store.feeds()]
    titles = [r.title for r in top_stories(app.store, demo_settings, ["South Korea"], feeds, clock.now())]
    assert titles == ["NATO and South Korea agree to increase global cooperation"]  # one story, two sources
    # stemming: "storms" finds "storm"
    assert "Storm warning" in top_stories(app.store, demo_settings, ["storms"], feeds, clock.now())[0].title
    # an entity named only in the text, not the title
    hits = top_stories(app.store, demo_settings, ["Kim Kyung-hyup"], feeds, clock.now())
    assert [h.title for h in hits][:1] == ["NATO and South Korea agree to increase global cooperation"]
    # all words must match first; when nothing has them all, any word will do
    assert len(top_stories(app.store, demo_settings, ["NATO", "zeppelin"], feeds, clock.now())) == 1
    assert top_stories(app.store, demo_settings, ["zeppelin"], feeds, clock.now()) == []
    await app.close()


async def test_user_text_cannot_break_the_query(demo_settings: Settings, clock: FixedClock) -> None:
    app = await loaded(demo_settings, clock)
    feeds = [f.id for f in app.store.feeds()]
    for words in (
        ["NEAR(a b)"],
        ['"'],
        ["*"],
        ["-NATO"],
        ["title:NATO"],
        ["AND"],
        ["'; DROP TABLE articles; --"],
        ["ü", "日本"],
    ):
        top_stories(app.store, demo_settings, words, feeds, clock.now())  # must not raise
    assert app.store.feeds()  # and nothing was dropped
    await app.close()


async def test_scope_is_the_channels_feeds(demo_settings: Settings, clock: FixedClock) -> None:
    app = await loaded(demo_settings, clock)
    lakeside = [f.id for f in app.store.feeds() if "lakeside" in f.url]
    assert top_stories(app.store, demo_settings, ["NATO"], lakeside, clock.now()) == []
    assert top_stories(app.store, demo_settings, ["NATO"], [], clock.now()) == []
    await app.close()


async def test_recency_breaks_near_ties(demo_settings: Settings, clock: FixedClock) -> None:
    app = await loaded(demo_settings, clock)
    feeds = [f.id for f in app.store.feeds()]
    hits = app.store.search_articles(["Port", "Alder"], feeds)
    assert len({h.story_id for h in hits}) == 2  # the storm warning and the ferry story
    ranked = top_stories(app.store, demo_settings, ["Port Alder"], feeds, clock.now())
    newest_first = sorted(ranked, key=lambda r: r.published or datetime.min.replace(tzinfo=UTC), reverse=True)
    # both name Port Alder in title and text; the newer storm warning comes first
    assert ranked[0].title == newest_first[0].title
    much_later = clock.now() + timedelta(days=30)
    assert [r.title for r in top_stories(app.store, demo_settings, ["Port Alder"], feeds, much_later)]
    await app.close()


async def test_query_operators_are_words_on_both_backends(demo_settings: Settings, clock: FixedClock) -> None:
    app = await loaded(demo_settings, clock)
    feeds = [f.id for f in app.store.feeds()]
    nato = "NATO and South Korea agree to increase global cooperation"
    assert [r.title for r in top_stories(app.store, demo_settings, ["-NATO"], feeds, clock.now())] == [nato]
    assert top_stories(app.store, demo_settings, ["or"], feeds, clock.now()) == []
    # "the" is in every story: it must not turn a miss into five unrelated hits
    assert top_stories(app.store, demo_settings, ["the", "zeppelin"], feeds, clock.now()) == []
    await app.close()
