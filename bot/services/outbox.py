"""Outbox: everything the bot must send, recorded in the same transaction as its cause.

A handler enqueues rows here (shared/DESIGN.md, "Inbox and outbox"); `bot/delivery.py` claims
due rows, sends them outside any transaction and marks the result. Parameters (message text
included) are encrypted at rest, and so is the chat id.

Claiming leases a row: `not_before` moves to now + lease, so another worker or process does
not take it, and a crashed worker's rows come back once the lease runs out (at-least-once).

Per-chat order: a row is not claimed while an earlier pending row for the same recipient, of
the same or a more urgent priority, exists (leased, backing off or due). A reply that hits a
network error is therefore never overtaken by the next one, and two processes never send to
one chat at the same time. A more urgent row (lower `priority`) may overtake a broadcast.

Functions flush, never commit: the caller owns the transaction. Times are UTC; naive datetimes
are taken as UTC.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.crypto import Keys
from bot.db import OUTBOX_ENQUEUED
from bot.models import Outbox

PENDING, SENT, DEAD = "pending", "sent", "dead"
# Priorities: lower goes first. Replies, relays and notices are 0; news to subscribers and
# channel posts wait behind them, so a broadcast never delays an answer to a client.
REPLY_PRIORITY = 0
BROADCAST_PRIORITY = 5
PAYLOAD_PURPOSE = b"outbox"
ERROR_MAX = 200  # Outbox.last_error is String(200)
_NO_SYNC = {"synchronize_session": False}

# Defence in depth for stored error texts: long numbers (chat or user ids) and anything shaped
# like a bot token are masked before an error reaches the database.
_TOKEN = re.compile(r"\d{5,}:[\w-]{20,}")
_LONG_NUMBER = re.compile(r"-?\d{6,}")


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


def utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime | None) -> datetime:
    """Aware UTC (SQLite stores the wall time without an offset, so it must always be UTC)."""
    if moment is None:
        return utcnow()
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def short_error(error: str) -> str:
    """An error text fit to store: masked ids and tokens, one line, at most 200 characters."""
    text = _TOKEN.sub("<token>", error)
    text = _LONG_NUMBER.sub("<n>", text)
    text = " ".join(text.split())
    return text[:ERROR_MAX]


def encode_params(keys: Keys, params: dict[str, Any]) -> bytes:
    data = json.dumps(params, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return keys.encrypt(data.encode("utf-8"), purpose=PAYLOAD_PURPOSE)


def decode_params(keys: Keys, payload: bytes) -> dict[str, Any]:
    params = json.loads(keys.decrypt(payload, purpose=PAYLOAD_PURPOSE))
    if not isinstance(params, dict):
        raise ValueError("outbox payload is not an object")
    return params


async def enqueue(
    session: AsyncSession,
    keys: Keys,
    *,
    chat_ref: bytes,
    recipient: str,
    method: str,
    params: dict[str, Any],
    priority: int = 0,
    message_id: int | None = None,
    not_before: datetime | None = None,
    post_id: int | None = None,
) -> int:
    """Record one Bot API call to make; returns the outbox id.

    `params` are the call's parameters except `chat_id` (JSON-serialisable: `reply_markup`
    as a dict, not a PTB object); `chat_ref` is the encrypted chat id (e.g. `Client.chat_ref`);
    `recipient` is "client:<id>" / "staff:<id>". The worker is woken after commit by itself.
    """
    if "chat_id" in params:
        raise ValueError("pass the chat as chat_ref, not in params")
    if not method or len(method) > 32:
        raise ValueError("method must be a Bot API method name")
    if not recipient or len(recipient) > 24:
        raise ValueError("recipient must be like 'client:12' (at most 24 characters)")
    row = Outbox(
        status=PENDING,
        priority=priority,
        method=method,
        chat_ref=chat_ref,
        recipient=recipient,
        payload=encode_params(keys, params),
        message_id=message_id,
        post_id=post_id,
        attempts=0,
        not_before=_utc(not_before),
    )
    session.add(row)
    await session.flush()
    session.info[OUTBOX_ENQUEUED] = True  # the worker is woken after commit (bot/db.py)
    return row.id


async def enqueue_many(
    session: AsyncSession,
    keys: Keys,
    rows: Iterable[tuple[bytes, str, str, dict[str, Any]]],
    *,
    priority: int = BROADCAST_PRIORITY,
    post_id: int | None = None,
    not_before: datetime | None = None,
) -> int:
    """Record many calls at once (a broadcast): (chat_ref, recipient, method, params) each.

    One multi-row INSERT instead of a flush per row, so a broadcast to thousands holds the
    database's write lock for a moment, not for seconds."""
    now = _utc(not_before)
    values = [
        {
            "status": PENDING,
            "priority": priority,
            "method": method,
            "chat_ref": chat_ref,
            "recipient": recipient,
            "payload": encode_params(keys, params),
            "post_id": post_id,
            "attempts": 0,
            "not_before": now,
        }
        for chat_ref, recipient, method, params in rows
    ]
    if values:
        await session.execute(insert(Outbox), values)
        session.info[OUTBOX_ENQUEUED] = True
    return len(values)


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
    now = _utc(now)
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
        ),
        execution_options=_NO_SYNC,
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
            )
        )
    if broken:
        await session.execute(
            update(Outbox)
            .where(Outbox.id.in_(broken))
            .values(status=DEAD, last_error="undecryptable"),
            execution_options=_NO_SYNC,
        )
    claimed.sort(key=lambda d: (d.priority, d.id))
    return claimed


async def _pending_update(session: AsyncSession, delivery_id: int, **values: Any) -> bool:
    result = await session.execute(
        update(Outbox).where(Outbox.id == delivery_id, Outbox.status == PENDING).values(**values),
        execution_options=_NO_SYNC,
    )
    return bool(result.rowcount)


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
        sent_at=_utc(now),
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
        not_before=_utc(now) + timedelta(seconds=delay_seconds),
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
        "not_before": _utc(now) + timedelta(seconds=delay_seconds),
        "leased_by": None,  # a wait, not a lease (see mark_retry)
    }
    if error is not None:
        values["last_error"] = short_error(error)
    return await _pending_update(session, delivery_id, **values)


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
        .values(not_before=_utc(now), leased_by=None),
        execution_options=_NO_SYNC,
    )
    return result.rowcount


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


async def find_by_sent_message(
    session: AsyncSession, recipient: str, sent_message_id: int
) -> int | None:
    """The `Message` id behind a message the bot sent to `recipient` (e.g. to route a reply)."""
    return await session.scalar(
        select(Outbox.message_id)
        .where(
            Outbox.recipient == recipient,
            Outbox.sent_message_id == sent_message_id,
            Outbox.message_id.is_not(None),
        )
        .order_by(Outbox.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class SentCopy:
    """Where a recorded message was delivered: enough to edit it there."""

    recipient: str
    chat_ref: bytes
    sent_message_id: int
    method: str
    had_caption: bool
    # The text or caption it was sent with (None: a copy showing the original's own).
    shown: str | None = None


async def sent_copies(session: AsyncSession, keys: Keys, message_id: int) -> list[SentCopy]:
    """The delivered copies of a recorded message (to relay an edit as an edit)."""
    rows = await session.execute(
        select(
            Outbox.recipient, Outbox.chat_ref, Outbox.sent_message_id, Outbox.method, Outbox.payload
        )
        .where(
            Outbox.message_id == message_id,
            Outbox.status == SENT,
            Outbox.sent_message_id.is_not(None),
            Outbox.method.in_(("sendMessage", "copyMessage")),
        )
        .order_by(Outbox.id)
    )
    copies = []
    for recipient, chat_ref, sent_id, method, payload in rows:
        params = decode_params(keys, payload)
        shown = params.get("text", params.get("caption"))
        copies.append(
            SentCopy(
                recipient,
                chat_ref,
                sent_id,
                method,
                "caption" in params,
                shown if isinstance(shown, str) else None,
            )
        )
    return copies


@dataclass(frozen=True)
class PendingTail:
    """A recipient's last queued row, while no worker has claimed it (see `pending_tail`)."""

    id: int
    method: str
    message_id: int | None
    params: dict[str, Any]


async def pending_tail(
    session: AsyncSession, keys: Keys, recipient: str, *, now: datetime | None = None
) -> PendingTail | None:
    """The recipient's newest row if it is pending, due, never tried and of reply priority:
    one a new text may still be merged into (`replace_params`)."""
    row = (
        await session.execute(
            select(
                Outbox.id,
                Outbox.status,
                Outbox.priority,
                Outbox.attempts,
                Outbox.not_before,
                Outbox.method,
                Outbox.message_id,
                Outbox.payload,
            )
            .where(Outbox.recipient == recipient)
            .order_by(Outbox.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None or (row.status, row.priority, row.attempts) != (PENDING, REPLY_PRIORITY, 0):
        return None
    if _utc(row.not_before) > _utc(now):  # leased by a worker (or waiting): leave it be
        return None
    return PendingTail(row.id, row.method, row.message_id, decode_params(keys, row.payload))


async def replace_params(
    session: AsyncSession,
    keys: Keys,
    delivery_id: int,
    params: dict[str, Any],
    *,
    now: datetime | None = None,
) -> bool:
    """New parameters for a row no worker has claimed yet; False if one has meanwhile (its
    lease moved `not_before` ahead) or it was tried: the caller queues a new row instead."""
    result = await session.execute(
        update(Outbox)
        .where(
            Outbox.id == delivery_id,
            Outbox.status == PENDING,
            Outbox.attempts == 0,
            Outbox.not_before <= _utc(now),
        )
        .values(payload=encode_params(keys, params)),
        execution_options=_NO_SYNC,
    )
    if result.rowcount:
        session.info[OUTBOX_ENQUEUED] = True
    return bool(result.rowcount)


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
            Outbox.sent_at >= _utc(since),
        )
        .distinct()
    )
    return sorted(result.all())


async def purge_sent(session: AsyncSession, older_than: datetime) -> int:
    """Delete sent and dead rows finished before `older_than` (sent_at, else created_at).

    A post's copies in channels stay: they say where the post is, so that it can still be
    edited or deleted there (they hold no client data)."""
    finished = func.coalesce(Outbox.sent_at, Outbox.created_at)
    channel_post = and_(Outbox.post_id.is_not(None), Outbox.recipient.like("channel:%"))
    result = await session.execute(
        delete(Outbox).where(
            and_(Outbox.status.in_((SENT, DEAD)), finished < _utc(older_than), ~channel_post)
        ),
        execution_options=_NO_SYNC,
    )
    return result.rowcount


async def delete_for_recipient(session: AsyncSession, recipient: str) -> int:
    """Delete every row for `recipient`, pending ones included (for /forget)."""
    result = await session.execute(
        delete(Outbox).where(Outbox.recipient == recipient), execution_options=_NO_SYNC
    )
    return result.rowcount


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    """Rows per status (pending: the backlog; dead: dead letters), for /metrics."""
    rows = await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))
    counts = {PENDING: 0, DEAD: 0}
    counts.update({status: int(count) for status, count in rows})
    return counts
