"""The models and the latest Alembic revision describe the same schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

import bot.models_cases  # noqa: F401  (case records: their tables join Base.metadata)
from bot.db import MIGRATIONS_DIR
from bot.models import Base

BLOB = {"b": b"\x00"}


async def test_models_and_latest_revision_agree(engine: AsyncEngine) -> None:
    def diff(sync_conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


def _model_checks() -> dict[str, set[str]]:
    checks: dict[str, set[str]] = {}
    for table in Base.metadata.sorted_tables:
        names = {str(c.name) for c in table.constraints if isinstance(c, CheckConstraint)}
        if names:
            checks[table.name] = names
    return checks


async def test_every_check_of_the_models_is_in_the_database(engine: AsyncEngine) -> None:
    """Alembic's comparison ignores CHECK constraints, so they are compared here by name."""

    def database_checks(sync_conn: Connection) -> dict[str, set[str]]:
        inspector = inspect(sync_conn)
        found: dict[str, set[str]] = {}
        for table in inspector.get_table_names():
            names = {str(c["name"]) for c in inspector.get_check_constraints(table) if c["name"]}
            if names:
                found[table] = names
        return found

    async with engine.connect() as conn:
        found = await conn.run_sync(database_checks)
    assert found == _model_checks()
    assert "ck_conversations_status_known" in found["conversations"]
    assert "ck_outbox_status_known" in found["outbox"]


async def _client_and_conversation(conn) -> None:  # type: ignore[no-untyped-def]
    await conn.execute(
        text("INSERT INTO clients (id, key, chat_ref, flood_count) VALUES (1, 'k', :b, 0)"),
        BLOB,
    )
    await conn.execute(
        text(
            "INSERT INTO conversations (id, client_id, kind, status, topic, language, country)"
            " VALUES (1, 1, 'consult', 'waiting', 'ost', 'ru', 'RU')"
        )
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE conversations SET status = 'closd' WHERE id = 1",
        "UPDATE conversations SET kind = 'chat' WHERE id = 1",
        "UPDATE conversations SET follow_up_answer = 'maybe' WHERE id = 1",
        "INSERT INTO messages (conversation_id, author, kind) VALUES (1, 'robot', 'text')",
        "INSERT INTO outbox (status, priority, method, chat_ref, recipient, payload, attempts)"
        " VALUES ('lost', 0, 'sendMessage', :b, 'client:1', :b, 0)",
        "INSERT INTO surveys (status) VALUES ('opened')",
        "INSERT INTO posts (status, button_kind, to_subscribers) VALUES ('sent', 'none', true)",
    ],
)
async def test_the_database_refuses_an_unknown_status(engine: AsyncEngine, statement: str) -> None:
    async with engine.begin() as conn:
        await _client_and_conversation(conn)
    async with engine.connect() as conn:
        with pytest.raises(IntegrityError):
            await conn.execute(text(statement), BLOB if ":b" in statement else {})


async def test_every_known_status_is_accepted(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await _client_and_conversation(conn)
        for status in ("active", "closed", "waiting"):
            await conn.execute(text(f"UPDATE conversations SET status = '{status}' WHERE id = 1"))
        await conn.execute(text("UPDATE conversations SET wanted_role = NULL WHERE id = 1"))
        for status in ("pending", "sent", "dead"):
            await conn.execute(
                text(
                    "INSERT INTO outbox (status, priority, method, chat_ref, recipient, payload,"
                    f" attempts) VALUES ('{status}', 0, 'sendMessage', :b, 'client:1', :b, 0)"
                ),
                BLOB,
            )


def _upgrade(url: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, revision)


def test_sqlite_rebuild_for_the_checks_keeps_every_referring_row(tmp_path: Path) -> None:
    """0020 rebuilds tables on SQLite; with foreign keys enforced, dropping `conversations`
    would have cascaded to its messages and their outbox rows."""
    path = tmp_path / "old.db"
    _upgrade(f"sqlite+aiosqlite:///{path}", "0018")
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            INSERT INTO clients (id, key, chat_ref, flood_count) VALUES (1, 'k', x'00', 0);
            INSERT INTO conversations (id, client_id, kind, status, topic, language, country)
                VALUES (1, 1, 'consult', 'closed', 'ost', 'ru', 'RU');
            INSERT INTO messages (id, conversation_id, author, kind)
                VALUES (1, 1, 'client', 'text');
            INSERT INTO posts (id, status, button_kind, to_subscribers)
                VALUES (1, 'published', 'none', 1);
            INSERT INTO post_versions (post_id, language, kind, text) VALUES (1, 'ru', 'text', '');
            INSERT INTO outbox (status, priority, method, chat_ref, recipient, payload, attempts,
                message_id, post_id) VALUES ('sent', 0, 'sendMessage', x'00', 'client:1', x'00',
                0, 1, 1);
            """
        )
    db.close()
    _upgrade(f"sqlite+aiosqlite:///{path}", "head")
    with sqlite3.connect(path) as db:
        counts = [
            db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("conversations", "messages", "post_versions", "outbox")
        ]
        refused = db.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox'").fetchone()[0]
    db.close()
    assert counts == [1, 1, 1, 1]
    assert "ck_outbox_status_known" in refused
