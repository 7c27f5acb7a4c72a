"""Multi-workspace installs kept in newsbot's own database, through slack_sdk's SQLAlchemy stores.

slack_sdk's async SQLAlchemy stores need an async driver (aiosqlite, asyncpg) that newsbot
does not ship; its sync stores work on the engine the bot already uses. These wrappers give
bolt's AsyncApp the async interface and run each (short) query in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sqlalchemy as sa
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

log = logging.getLogger(__name__)
STATE_SECONDS = 600  # an install link is good for ten minutes


class ThreadedInstallationStore(AsyncInstallationStore):
    """slack_sdk's SQLAlchemyInstallationStore behind the async interface bolt's AsyncApp wants."""

    def __init__(self, store: SQLAlchemyInstallationStore) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.store.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, bot)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        return await asyncio.to_thread(
            self.store.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            self.store.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.store.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            self.store.delete_installation, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )


class ThreadedStateStore(AsyncOAuthStateStore):
    """slack_sdk's SQLAlchemyOAuthStateStore (one-time OAuth `state` values) for AsyncApp."""

    def __init__(self, store: SQLAlchemyOAuthStateStore) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.store.issue, *args, **kwargs)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.store.consume, state)


def open_stores(database_url: str, client_id: str) -> tuple[ThreadedInstallationStore, ThreadedStateStore]:
    """Both stores on the bot's database; their tables are created by slack_sdk itself if missing."""
    engine = sa.create_engine(database_url)
    installs = SQLAlchemyInstallationStore(client_id=client_id, engine=engine, logger=log)
    states = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine, logger=log)
    # create_tables() is metadata.create_all, which skips tables that already exist
    installs.create_tables()  # type: ignore[no-untyped-call]  # slack_sdk leaves it unannotated
    states.create_tables()  # type: ignore[no-untyped-call]
    return ThreadedInstallationStore(installs), ThreadedStateStore(states)
