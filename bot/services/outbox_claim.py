"""Claiming outbox rows for delivery: a lease, so that one worker sends each row.

Claiming leases a row: `not_before` moves to now + lease, so another worker or process does
not take it, and a crashed worker's rows come back once the lease runs out (at-least-once;
bot/services/leases.py frees a dead worker's leases sooner).

Per-chat order: a row is not claimed while an earlier pending row for the same recipient, of
the same or a more urgent priority, exists (leased, backing off or due). A reply that hits a
network error is therefore never overtaken by the next one, and two processes never send to
one chat at the same time. A more urgent row (lower `priority`) may overtake a broadcast.

Functions flush, never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.crypto import Keys
from bot.db import NO_SYNC, rowcount
from bot.models import Outbox
from bot.services.outbox import DEAD, PENDING, decode_params, or_now


@dataclass(frozen=True)
class Delivery:
    """A claimed outbox row, decrypted: what the worker needs to make one Bot API call."""

    id: int
    method: str
    chat_id: int
    params: dict[str, Any]
    attempts: int
    recipient: str
    message_id: int | None
    priority: int = 0
    post_id: int | None = None
    section: str | None = None  # a relayed text that may be sent with others (`Outbox.section`)
    # Rows sent together with this one in the same call (bot/delivery_combine.py): leased with
    # it, recorded with it.
    together: tuple[int, ...] = ()


async def claim_due(
    session: AsyncSession,
    keys: Keys,
    *,
    now: datetime | None = None,
    limit: int = 20,
    lease_seconds: float = 60,
    worker_id: int | None = None,
) -> list[Delivery]:
    """Lease up to `limit` due rows (by priority, then id) for `lease_seconds`.

    PostgreSQL: `SELECT ... LIMIT n FOR UPDATE SKIP LOCKED`, then `UPDATE ... WHERE id IN
    (...)`, so concurrent claimers take disjoint rows without waiting for each other. SQLite:
    one statement, `UPDATE outbox SET not_before = now + lease WHERE id IN (SELECT ... LIMIT n)
    RETURNING ...`, which takes the write lock at once (no read-then-write upgrade that could
    fail with SQLITE_BUSY under a second process). Commit soon after: the lease starts at
    `now`. A row whose payload cannot be decrypted is marked dead, not returned.
    `worker_id` is stored as the lease's holder (bot/services/leases.py).
    """
    now = or_now(now)
    lease_until = now + timedelta(seconds=lease_seconds)
    candidate = aliased(Outbox, name="candidate")
    earlier = aliased(Outbox, name="earlier")
    blocked = (
        exists()
        .where(
            earlier.recipient == candidate.recipient,
            earlier.status == PENDING,
            earlier.id < candidate.id,
            earlier.priority <= candidate.priority,
        )
        .correlate(candidate)
    )
    due = (
        select(candidate.id)
        .where(candidate.status == PENDING, candidate.not_before <= now, ~blocked)
        .order_by(candidate.priority, candidate.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two statements: as `IN (subquery)` PostgreSQL may run a SKIP LOCKED subquery once
        # per outer row, each run skipping the rows the previous ones locked (LIMIT ignored).
        due_ids = list(await session.scalars(due.with_for_update(skip_locked=True, of=candidate)))
        if not due_ids:
            return []
        chosen: Any = due_ids
    else:
        chosen = due
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id.in_(chosen), Outbox.status == PENDING, Outbox.not_before <= now)
        .values(not_before=lease_until, leased_by=worker_id)
        .returning(
            Outbox.id,
            Outbox.priority,
            Outbox.method,
            Outbox.chat_ref,
            Outbox.payload,
            Outbox.attempts,
            Outbox.recipient,
            Outbox.message_id,
            Outbox.post_id,
            Outbox.section,
        ),
        execution_options=NO_SYNC,
    )
    claimed: list[Delivery] = []
    broken: list[int] = []
    for row in result.all():
        try:
            chat_id = keys.decrypt_chat_id(row.chat_ref)
            params = decode_params(keys, row.payload)
        except Exception:  # a changed secret key or a damaged row: never retry it
            broken.append(row.id)
            continue
        claimed.append(
            Delivery(
                id=row.id,
                method=row.method,
                chat_id=chat_id,
                params=params,
                attempts=row.attempts,
                recipient=row.recipient,
                message_id=row.message_id,
                priority=row.priority,
                post_id=row.post_id,
                section=row.section,
            )
        )
    if broken:
        await session.execute(
            update(Outbox)
            .where(Outbox.id.in_(broken))
            .values(status=DEAD, last_error="undecryptable"),
            execution_options=NO_SYNC,
        )
    claimed.sort(key=lambda d: (d.priority, d.id))
    return claimed


async def release(
    session: AsyncSession,
    delivery_ids: Iterable[int],
    *,
    now: datetime | None = None,
    worker_id: int | None = None,
) -> int:
    """End the lease of claimed rows that were not attempted: due again at once.

    With `worker_id`, only rows that worker still holds: one whose leases were freed (it was
    taken for dead) must not cut short a lease another worker took since."""
    ids = list(delivery_ids)
    if not ids:
        return 0
    held = Outbox.leased_by == worker_id if worker_id is not None else true()
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id.in_(ids), Outbox.status == PENDING, held)
        .values(not_before=or_now(now), leased_by=None),
        execution_options=NO_SYNC,
    )
    return rowcount(result)
