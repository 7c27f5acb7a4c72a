"""Store: every query the core runs, on SQLite or PostgreSQL through the same Core SQL.

The queries are grouped by domain in feeds, channels, articles, digests and notices; each call is
one short transaction. It implements every storage port of bot.ports; the core reaches it only
through bot.storage.Storage, off the event loop, which turns SQLAlchemy's errors into
StorageError/StorageBusy (bot/store/errors.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.errors import StorageError
from bot.models import NoticeRow, SearchHit
from bot.store import migrate
from bot.store.articles import ArticleQueries, index_article
from bot.store.channels import ChannelQueries
from bot.store.digests import DigestQueries
from bot.store.engine import create_engine
from bot.store.feeds import FeedQueries
from bot.store.maintenance import MaintenanceQueries
from bot.store.notices import NoticeQueries
from bot.store.rows import DigestRow, FeedRow, StoredArticle, SubscriptionRow
from bot.store.search import SearchQueries

__all__ = [
    "DigestRow",
    "FeedRow",
    "NoticeRow",
    "SearchHit",
    "Store",
    "StoredArticle",
    "SubscriptionRow",
    "index_article",
]


class Store(
    FeedQueries, ChannelQueries, ArticleQueries, DigestQueries, SearchQueries, MaintenanceQueries, NoticeQueries
):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect and bring the schema up to date."""
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
        except sa.exc.DatabaseError as exc:  # also "file is not a database"
            raise StorageError(
                f"cannot open the database {engine.url.render_as_string(hide_password=True)}: {exc.orig}"
            ) from None
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()
