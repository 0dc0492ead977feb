"""Retention: what clients wrote is deleted once no one needs it, then scrubbed from disk.

`purge_expired` deletes the messages (encrypted bodies and all) of conversations closed more
than `retention_days` ago, the outbox rows that carried them, and every finished outbox row
older than that. The conversation rows stay: topic, language, country, urgency, outcome,
rating and timestamps are what reports count, and they hold nothing a client wrote.

Deleting a row is not enough for a seized disk (shared/SECURITY.md): SQLite leaves old page
versions in the WAL and in the database file until they are overwritten, so `compact`
checkpoints and truncates the WAL and rebuilds the file with VACUUM. Run it after every purge,
and daily anyway: a /forget also leaves old page versions in the WAL until the next one.
PostgreSQL cannot promise as much (see `compact`).

Functions that take a session flush, never commit; `compact` needs no transaction open on
the engine's connection it uses (VACUUM cannot run inside one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import CursorResult, Result, delete, distinct, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.models import Conversation, Message, Outbox, Reminder, Story
from bot.services import outbox_upkeep, traces
from bot.services.clients import FORGET_WINDOW
from bot.services.queue import CLOSED

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# The tables a purge deletes from (PostgreSQL's VACUUM after a purge).
PURGED_TABLES = ("messages", "outbox")
_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class PurgeReport:
    conversations: int  # closed conversations whose messages were deleted
    messages: int
    outbox: int  # rows that carried those messages, plus finished rows past retention
    # After `compact`: True when nothing deleted can linger in the WAL; None before.
    compacted: bool | None = None

    def summary(self) -> str:
        return (
            f"deleted {_count(self.messages, 'message')} of "
            f"{_count(self.conversations, 'closed conversation')} and "
            f"{_count(self.outbox, 'outbox row')}"
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _utc(moment: datetime | None) -> datetime:
    # SQLite stores the wall time without an offset, so every bound time must be UTC.
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


async def purge_expired(
    session: AsyncSession, *, retention_days: int, now: datetime | None = None
) -> PurgeReport:
    """Delete the messages of conversations closed more than `retention_days` ago, their
    outbox rows, and sent or dead outbox rows finished before then.

    Finished rows are kept for 48 hours at least, even with a one-day retention: /forget
    finds the bot's messages to delete from a client's chat by the ids they hold, and
    Telegram allows that deletion for 48 hours.
    """
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    now = _utc(now)
    cutoff = now - timedelta(days=retention_days)
    expired = select(Conversation.id).where(
        Conversation.status == CLOSED, Conversation.closed_at < cutoff
    )
    conversations = await session.scalar(
        select(func.count(distinct(Message.conversation_id))).where(
            Message.conversation_id.in_(expired)
        )
    )
    # The rows that relayed these messages go first and explicitly (not only by ON DELETE
    # CASCADE): counted, and gone even on a connection without SQLite's foreign_keys pragma.
    relays = await session.execute(
        delete(Outbox).where(
            Outbox.message_id.in_(select(Message.id).where(Message.conversation_id.in_(expired)))
        ),
        execution_options=_NO_SYNC,
    )
    messages = await session.execute(
        delete(Message).where(Message.conversation_id.in_(expired)), execution_options=_NO_SYNC
    )
    # Rating comments are free text and may say who someone is: they go with the bodies.
    await session.execute(
        update(Conversation)
        .where(Conversation.id.in_(expired), Conversation.rating_comment.is_not(None))
        .values(rating_comment=None),
        execution_options=_NO_SYNC,
    )
    finished = await outbox_upkeep.purge_sent(session, min(cutoff, now - FORGET_WINDOW))
    # Which client asked to be reminded of which event, once the reminder went out; and
    # stories a client wrote but never sent: both say something about a person.
    await session.execute(
        delete(Reminder).where(Reminder.sent_at.is_not(None), Reminder.sent_at < cutoff),
        execution_options=_NO_SYNC,
    )
    await session.execute(
        delete(Story).where(Story.status == "draft", Story.created_at < cutoff),
        execution_options=_NO_SYNC,
    )
    # Which messages a chat held: useless once Telegram no longer lets us delete them.
    await traces.purge(session, now=now)
    return PurgeReport(
        conversations=conversations or 0,
        messages=_affected(messages),
        outbox=_affected(relays) + finished,
    )


def _affected(result: Result[Any]) -> int:
    """Rows a DELETE or UPDATE touched: `session.execute` is typed as returning a `Result`,
    while a DML statement's is a `CursorResult`, which counts them."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not a DML statement's result: {type(result).__name__}")
    return result.rowcount


async def compact(engine: AsyncEngine, *, full: bool = False) -> bool:
    """Make deleted rows unrecoverable from the database files, as far as the engine can.

    SQLite: with `secure_delete` a delete zeroes the row in the page's new version, but the
    old versions stay in the WAL and, until a checkpoint, in the database file.
    `wal_checkpoint(TRUNCATE)` copies the newest pages into the file and empties the WAL;
    VACUUM first rebuilds the file from live rows only (no free pages, smaller file). False
    when a reader kept the checkpoint from finishing: run it again later.

    PostgreSQL: a DELETE only marks tuples dead. Plain VACUUM makes their space reusable but
    does not overwrite it: the bytes stay in the table file until new rows need the room
    (seen on PostgreSQL 15: all deleted rows still in the file after DELETE, VACUUM and
    CHECKPOINT). It takes no lock that stops the bot, so it is the default. `full=True` runs
    VACUUM FULL, which rewrites the tables into new files without the dead rows, holding an
    exclusive lock on them meanwhile (the bot waits); the old files are unlinked, not
    overwritten. WAL segments and base backups keep copies until recycled either way: on
    PostgreSQL the protection of old text is its encryption (key outside the database).
    """
    async with engine.connect() as connection:
        # VACUUM refuses to run inside a transaction block, on both engines.
        conn = await connection.execution_options(isolation_level="AUTOCOMMIT")
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("PRAGMA secure_delete=ON")
            await conn.exec_driver_sql("VACUUM")
            result = await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = result.one()[0]  # then the WAL's frames, and how many were checkpointed
            return not busy
        if conn.dialect.name == "postgresql":
            vacuum = "VACUUM FULL " if full else "VACUUM "
            await conn.exec_driver_sql(vacuum + ", ".join(PURGED_TABLES))
    return True


async def purge_and_compact(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    *,
    retention_days: int,
    now: datetime | None = None,
    full: bool = False,
) -> PurgeReport:
    """`purge_expired` in one transaction, committed, then `compact`."""
    async with sessions() as session, session.begin():
        report = await purge_expired(session, retention_days=retention_days, now=now)
    compacted = await compact(engine, full=full)
    if not compacted:
        log.warning("the WAL could not be fully checkpointed (a reader was busy); retry later")
    return replace(report, compacted=compacted)


async def run_retention(runtime: Runtime) -> PurgeReport:
    """The daily job: purge past PEERLINE_RETENTION_DAYS, then compact."""
    report = await purge_and_compact(
        runtime.engine, runtime.sessions, retention_days=runtime.settings.retention_days
    )
    log.info("retention purge: %s", report.summary())
    return report
