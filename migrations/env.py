"""Alembic environment (async). The URL comes from the caller or from Peerline's settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

import bot.models_cases  # noqa: F401  (case records: their tables join Base.metadata)
from bot import models_events  # noqa: F401  (its tables join Base.metadata)
from bot.db import is_sqlite, make_engine
from bot.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return url
    from bot.config import load_settings

    return load_settings().effective_database_url


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    sqlite = is_sqlite(url or _url())
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=sqlite,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        literal_binds=url is not None,
    )


def run_migrations_offline() -> None:
    _configure(url=_url())
    with context.begin_transaction():
        context.run_migrations()


# Any constant of our own: the key of the lock every migrating process takes.
_MIGRATION_LOCK = 0x5045_4552  # "PEER"


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several bot processes start at once (docker compose --scale bot=2): one
            # migrates, the others wait here and then find the database at the latest
            # revision, instead of failing on tables created under them. Released at commit.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = make_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
