"""Forgetting and counting outbox rows: a person's rows for /forget, finished rows after
the retention period, and the rows per status for /metrics.

Functions flush, never commit: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import NO_SYNC, rowcount
from bot.models import Outbox
from bot.services.outbox import DEAD, PENDING, SENT


async def sent_message_ids(session: AsyncSession, recipient: str, *, since: datetime) -> list[int]:
    """Ids of messages sent to `recipient` since a moment (for /forget's 48-hour deletion).

    Read them before `delete_for_recipient`, which removes the rows that hold them.
    """
    result = await session.scalars(
        select(Outbox.sent_message_id)
        .where(
            Outbox.recipient == recipient,
            Outbox.status == SENT,
            Outbox.sent_message_id.is_not(None),
            Outbox.sent_at >= since,
        )
        .distinct()
    )
    return sorted(found for found in result.all() if found is not None)


async def purge_sent(session: AsyncSession, older_than: datetime) -> int:
    """Delete sent and dead rows finished before `older_than` (sent_at, else created_at).

    A post's copies in channels stay: they say where the post is, so that it can still be
    edited or deleted there (they hold no client data)."""
    finished = func.coalesce(Outbox.sent_at, Outbox.created_at)
    channel_post = and_(Outbox.post_id.is_not(None), Outbox.recipient.like("channel:%"))
    result = await session.execute(
        delete(Outbox).where(
            and_(Outbox.status.in_((SENT, DEAD)), finished < older_than, ~channel_post)
        ),
        execution_options=NO_SYNC,
    )
    return rowcount(result)


async def delete_for_recipient(session: AsyncSession, recipient: str) -> int:
    """Delete every row for `recipient`, pending ones included (for /forget)."""
    result = await session.execute(
        delete(Outbox).where(Outbox.recipient == recipient), execution_options=NO_SYNC
    )
    return rowcount(result)


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    """Rows per status (pending: the backlog; dead: dead letters), for /metrics."""
    rows = await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))
    counts = {PENDING: 0, DEAD: 0}
    counts.update({status: int(count) for status, count in rows})
    return counts
