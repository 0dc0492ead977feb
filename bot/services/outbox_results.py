"""The outcome of one delivery attempt: sent, retried later, postponed, or given up on.

Only a pending row changes (a row freed and re-claimed meanwhile keeps its newer state);
each function returns whether it did. A dead row is a dead letter: never tried again, kept
for its error until outbox_upkeep.purge_sent. Stored error texts are masked first.

Functions flush, never commit: the caller owns the transaction.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import NO_SYNC, rowcount
from bot.models import Outbox
from bot.services.outbox import DEAD, PENDING, SENT, or_now

ERROR_MAX = 200  # Outbox.last_error is String(200)
# Defence in depth for stored error texts: long numbers (chat or user ids) and anything shaped
# like a bot token are masked before an error reaches the database.
_TOKEN = re.compile(r"\d{5,}:[\w-]{20,}")
_LONG_NUMBER = re.compile(r"-?\d{6,}")


def short_error(error: str) -> str:
    """An error text fit to store: masked ids and tokens, one line, at most 200 characters."""
    text = _TOKEN.sub("<token>", error)
    text = _LONG_NUMBER.sub("<n>", text)
    text = " ".join(text.split())
    return text[:ERROR_MAX]


async def _pending_update(session: AsyncSession, delivery_id: int, **values: Any) -> bool:
    result = await session.execute(
        update(Outbox).where(Outbox.id == delivery_id, Outbox.status == PENDING).values(**values),
        execution_options=NO_SYNC,
    )
    return bool(rowcount(result))


async def mark_sent(
    session: AsyncSession,
    delivery_id: int,
    sent_message_id: int | None,
    *,
    now: datetime | None = None,
) -> bool:
    """Delivered; `sent_message_id` is the message's id in the recipient's chat, if any."""
    return await _pending_update(
        session,
        delivery_id,
        status=SENT,
        sent_message_id=sent_message_id,
        sent_at=or_now(now),
        last_error=None,
        leased_by=None,
    )


async def mark_retry(
    session: AsyncSession,
    delivery_id: int,
    *,
    delay_seconds: float,
    error: str,
    now: datetime | None = None,
) -> bool:
    """A failed attempt: counted, and tried again after `delay_seconds`."""
    return await _pending_update(
        session,
        delivery_id,
        attempts=Outbox.attempts + 1,
        not_before=or_now(now) + timedelta(seconds=delay_seconds),
        last_error=short_error(error),
        leased_by=None,  # a wait, not a lease: freeing a dead worker's leases keeps it
    )


async def postpone(
    session: AsyncSession,
    delivery_id: int,
    *,
    delay_seconds: float,
    error: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Try again later without counting an attempt (flood control, no connection)."""
    values: dict[str, Any] = {
        "not_before": or_now(now) + timedelta(seconds=delay_seconds),
        "leased_by": None,  # a wait, not a lease (see mark_retry)
    }
    if error is not None:
        values["last_error"] = short_error(error)
    return await _pending_update(session, delivery_id, **values)


async def mark_dead(session: AsyncSession, delivery_id: int, error: str) -> bool:
    """Given up: never tried again (the attempt that failed is counted)."""
    return await _pending_update(
        session,
        delivery_id,
        status=DEAD,
        attempts=Outbox.attempts + 1,
        last_error=short_error(error),
        leased_by=None,
    )


async def dead_count(session: AsyncSession, message_id: int, recipient: str) -> int:
    """How many rows carrying this recorded message to this recipient were given up on."""
    return int(
        await session.scalar(
            select(func.count()).where(
                Outbox.message_id == message_id,
                Outbox.recipient == recipient,
                Outbox.status == DEAD,
            )
        )
        or 0
    )
