"""The queue as /metrics shows it: how many wait, for how long, and how long takes took.

Read from the database at scrape time (the queue is shared by every process), in two queries:
the waiting side is an aggregate the queue index (status, urgent, created_at) answers without
touching the table; the recent takes are the (created_at, taken_at) pairs of the last day,
reduced to a few quantiles here. No ids or texts leave this module, only counts and seconds.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.metrics import QueueStats, WaitSummary
from bot.models import Conversation
from bot.services.queue import WAITING

# Takes older than this are not in the wait-to-take summary: a scrape describes the recent
# service, and the window bounds what one scrape reads.
TAKE_WINDOW = timedelta(hours=24)
QUANTILES = (0.5, 0.9, 0.99)


async def queue_stats(session: AsyncSession, now: datetime | None = None) -> QueueStats:
    now = now or datetime.now(UTC)
    rows = await session.execute(
        select(Conversation.urgent, func.count(), func.min(Conversation.created_at))
        .where(Conversation.status == WAITING)
        .group_by(Conversation.urgent)
    )
    waiting = {False: 0, True: 0}
    oldest = {False: 0.0, True: 0.0}
    for urgent, count, first in rows:
        waiting[bool(urgent)] = int(count)
        if first is not None:
            oldest[bool(urgent)] = _seconds(now - _utc(first))
    pairs = await session.execute(
        select(Conversation.created_at, Conversation.taken_at).where(
            Conversation.taken_at >= now - TAKE_WINDOW
        )
    )
    # taken_at is not None here (the WHERE compares it), but the column type says it may be.
    waits = [_seconds(_utc(taken) - _utc(created)) for created, taken in pairs if taken]
    return QueueStats(
        waiting=waiting,
        oldest_wait_seconds=oldest,
        wait_to_take=summarise(waits),
        window_seconds=TAKE_WINDOW.total_seconds(),
    )


def summarise(waits: list[float]) -> WaitSummary:
    """Quantiles (nearest rank, so every figure is a wait that happened), sum and count."""
    ordered = sorted(waits)
    quantiles = {
        q: ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else 0.0 for q in QUANTILES
    }
    return WaitSummary(quantiles=quantiles, total=float(math.fsum(ordered)), count=len(ordered))


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _seconds(delta: timedelta) -> float:
    return max(0.0, round(delta.total_seconds(), 3))
