"""Who holds the outbox leases, and freeing those of a worker that died.

Each delivery worker has a row in `delivery_workers` with a heartbeat it renews every second
or so, and stamps `outbox.leased_by` with its id when it claims rows. A worker is dead when
its heartbeat is older than `stale_after` (or, where only one process can use the database,
whenever it is not us); its pending leases are then made due at once and its row deleted, in
one transaction. bot/delivery.py explains when this runs and why it is safe.

Functions flush, never commit: the caller owns the transaction. Times are the callers'
(`outbox.utcnow()`), like every other outbox time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import DeliveryWorkerRow, Outbox
from bot.services.outbox import PENDING

_NO_SYNC = {"synchronize_session": False}


async def register(session: AsyncSession, *, now: datetime) -> int:
    """A new worker, alive as of `now`; returns its id."""
    result = await session.execute(
        insert(DeliveryWorkerRow)
        .values(started_at=now, heartbeat_at=now)
        .returning(DeliveryWorkerRow.id)
    )
    return int(result.scalar_one())


async def beat(session: AsyncSession, worker_id: int, *, now: datetime) -> bool:
    """Renew the heartbeat. False when the row is gone: another process found us dead and
    freed our leases, so rows we still hold may be sent by someone else."""
    result = await session.execute(
        update(DeliveryWorkerRow).where(DeliveryWorkerRow.id == worker_id).values(heartbeat_at=now),
        execution_options=_NO_SYNC,
    )
    return bool(cast("CursorResult[Any]", result).rowcount)


async def free_dead(
    session: AsyncSession,
    worker_id: int,
    *,
    now: datetime,
    stale_after: float,
    only_us: bool = False,
) -> int:
    """Free the leases of dead workers (due at once, holder cleared) and forget them.

    Dead: no heartbeat since `now - stale_after`; with `only_us` (one process per database,
    e.g. SQLite under bot/instance_lock.py), every worker but `worker_id`. Returns how many
    outbox rows were freed. Rows a dead worker had postponed or set to retry carry no holder
    (the mark_* functions clear it), so their waits are kept."""
    dead = DeliveryWorkerRow.id != worker_id
    if not only_us:
        dead = dead & (DeliveryWorkerRow.heartbeat_at < now - timedelta(seconds=stale_after))
    dead_ids = list(await session.scalars(select(DeliveryWorkerRow.id).where(dead)))
    if not dead_ids:
        return 0
    freed = await session.execute(
        update(Outbox)
        .where(Outbox.leased_by.in_(dead_ids), Outbox.status == PENDING)
        .values(not_before=now, leased_by=None),
        execution_options=_NO_SYNC,
    )
    await session.execute(
        delete(DeliveryWorkerRow).where(DeliveryWorkerRow.id.in_(dead_ids)),
        execution_options=_NO_SYNC,
    )
    return int(cast("CursorResult[Any]", freed).rowcount)


async def retire(session: AsyncSession, worker_id: int) -> None:
    """A worker that stops cleanly: its row goes (the batch it held was released already)."""
    await session.execute(
        delete(DeliveryWorkerRow).where(DeliveryWorkerRow.id == worker_id),
        execution_options=_NO_SYNC,
    )
