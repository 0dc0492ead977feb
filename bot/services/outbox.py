"""Outbox: everything the bot must send, recorded in the same transaction as its cause.

A handler enqueues rows here (shared/DESIGN.md, "Inbox and outbox"); the delivery worker
(bot/delivery.py) claims due rows (outbox_claim.py), sends them outside any transaction and
records the result (outbox_results.py); outbox_upkeep.py forgets and counts them. Parameters
(message text included) are encrypted at rest, and so is the chat id.

This module is the producers' side: queue a call, and merge a text into a reply not yet
claimed. Where a recorded message was delivered (to route a reply to it or relay an edit) is
outbox_sent.py.

Functions flush, never commit: the caller owns the transaction. Times are UTC; the column
type (bot/dbtypes.UtcDateTime) takes a naive datetime as UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.db import NO_SYNC, OUTBOX_ENQUEUED, rowcount
from bot.dbtypes import as_utc
from bot.models import Outbox

PENDING, SENT, DEAD = "pending", "sent", "dead"  # bot/models/outbox.py OUTBOX_STATUSES
# Priorities: lower goes first. Replies, relays and notices are 0; news to subscribers and
# channel posts wait behind them, so a broadcast never delays an answer to a client.
REPLY_PRIORITY = 0
BROADCAST_PRIORITY = 5
PAYLOAD_PURPOSE = b"outbox"


def utcnow() -> datetime:
    return datetime.now(UTC)


def or_now(moment: datetime | None) -> datetime:
    """`moment` as aware UTC, or now when it is None."""
    return utcnow() if moment is None else as_utc(moment)


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
    section: str | None = None,
) -> int:
    """Record one Bot API call to make; returns the outbox id.

    `params` are the call's parameters except `chat_id` (JSON-serialisable: `reply_markup`
    as a dict, not a PTB object); `chat_ref` is the encrypted chat id (e.g. `Client.chat_ref`);
    `recipient` is "client:<id>" / "staff:<id>". The worker is woken after commit by itself.
    `section`: who wrote a relayed text that may be merged and sent together (see
    `Outbox.section`).
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
        not_before=or_now(not_before),
        section=section,
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
    now = or_now(not_before)
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


@dataclass(frozen=True)
class PendingTail:
    """A recipient's last queued row, while no worker has claimed it (see `pending_tail`)."""

    id: int
    method: str
    message_id: int | None
    params: dict[str, Any]
    section: str | None = None


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
                Outbox.section,
            )
            .where(Outbox.recipient == recipient)
            .order_by(Outbox.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None or (row.status, row.priority, row.attempts) != (PENDING, REPLY_PRIORITY, 0):
        return None
    if row.not_before > or_now(now):  # leased by a worker (or waiting): leave it be
        return None
    params = decode_params(keys, row.payload)
    return PendingTail(row.id, row.method, row.message_id, params, row.section)


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
            Outbox.not_before <= or_now(now),
        )
        .values(payload=encode_params(keys, params)),
        execution_options=NO_SYNC,
    )
    if rowcount(result):
        session.info[OUTBOX_ENQUEUED] = True
        return True
    return False
