"""How long a waiting client will wait: their place in the queue and a rough estimate."""

from __future__ import annotations

import math
import statistics

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Conversation, Staff
from bot.services.queue_base import WAITING, queue_order, utc

WAIT_HISTORY = 50  # how many recent takes the wait estimate looks at


async def queue_position(session: AsyncSession, conversation_id: int) -> int | None:
    """1-based place among all waiting conversations, in the order they are taken;
    None if this one is not waiting."""
    ranked = (
        select(
            Conversation.id,
            func.row_number().over(order_by=queue_order(Conversation)).label("position"),
        )
        .where(Conversation.status == WAITING)
        .subquery()
    )
    position = await session.scalar(select(ranked.c.position).where(ranked.c.id == conversation_id))
    return int(position) if position is not None else None


async def wait_estimate_minutes(session: AsyncSession, conversation_id: int) -> int | None:
    """Roughly how long until someone takes it: the median wait of the last 50 takes, times
    the queue position, shared among the staff on duty (they work in parallel).

    None if it is not waiting or nobody has ever been taken (better no promise than a
    made-up one). Rounded up: telling someone in crisis "0 minutes" and then making them
    wait is worse than the other way round.
    """
    position = await queue_position(session, conversation_id)
    if position is None:
        return None
    rows = (
        await session.execute(
            select(Conversation.created_at, Conversation.taken_at)
            .where(Conversation.taken_at.is_not(None))
            .order_by(Conversation.taken_at.desc(), Conversation.id.desc())
            .limit(WAIT_HISTORY)
        )
    ).all()
    if not rows:
        return None
    median = statistics.median(
        max(0.0, (utc(taken) - utc(created)).total_seconds())  # type: ignore[operator]
        for created, taken in rows
    )
    on_duty = await session.scalar(
        select(func.count()).select_from(Staff).where(Staff.on_duty, Staff.active)
    )
    return math.ceil(median * position / max(1, on_duty or 0) / 60)
