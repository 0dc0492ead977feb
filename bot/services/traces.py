"""Which messages a private chat holds, so /hide and /forget can delete them all.

A person at risk may have their phone checked: "🧹 Clear this chat" must leave nothing of the
last 48 hours, ours or theirs, whatever path a message went through (a screen, a relay, a
notice from the outbox). Every one is recorded here by the person's HMAC key and message id
only, and forgotten after 48 hours, when Telegram no longer lets a bot delete it anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ChatTrace

# Telegram lets a bot delete a message in a private chat for 48 hours after it was sent.
WINDOW = timedelta(hours=48)
_NO_SYNC = {"synchronize_session": False}


async def record(
    session: AsyncSession, key: str, message_ids: Iterable[int], *, at: datetime | None = None
) -> None:
    moment = at or datetime.now(UTC)
    rows = [{"key": key, "message_id": int(m), "at": moment} for m in message_ids]
    if rows:
        await session.execute(_INSERT, rows)


# A plain INSERT into the table, built once: the ORM's bulk INSERT of the entity cost more CPU
# than running it (this runs for every message into or out of a private chat).
_INSERT = insert(cast(Table, ChatTrace.__table__))


async def recent(session: AsyncSession, key: str, *, now: datetime | None = None) -> list[int]:
    """The chat's messages that can still be deleted, oldest first."""
    since = (now or datetime.now(UTC)) - WINDOW
    ids = await session.scalars(
        select(ChatTrace.message_id)
        .where(ChatTrace.key == key, ChatTrace.at >= since)
        .order_by(ChatTrace.message_id)
    )
    return list(dict.fromkeys(ids))


async def forget(session: AsyncSession, key: str) -> None:
    await session.execute(delete(ChatTrace).where(ChatTrace.key == key), execution_options=_NO_SYNC)


async def purge(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Forget traces older than 48 hours (nothing can delete those messages any more)."""
    before = (now or datetime.now(UTC)) - WINDOW
    result = await session.execute(
        delete(ChatTrace).where(ChatTrace.at < before).returning(ChatTrace.id),
        execution_options=_NO_SYNC,
    )
    return len(result.all())
