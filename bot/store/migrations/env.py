"""Alembic environment: runs migrations on the connection that bot.store.migrate hands over."""

from __future__ import annotations

from alembic import context

from bot.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # the caller's transaction holds the whole upgrade, DDL included (see bot.store.engine)
    transactional_ddl=True,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
