"""Relayed texts queued for one staff chat go out together, each under its writer's header.

Telegram lets a bot send about one message a second to a chat, so a consultant with ten clients
writing short lines would fall minutes behind if every line were a message of its own
(bench/relay_load.py). Right before the worker sends a relayed text (a row with
`Outbox.section`), it also leases the texts queued right behind it for the same chat and sends
them in the same message:

    👤 Blue Fox 42
    first line
    second line

    👤 Green Owl 7
    their line

Each row stays one writer's and is recorded sent with the same Telegram message id, so
/forget still removes exactly one client's rows, a reply to such a message is asked about (it
shows several conversations: `outbox_sent.sent_conversations`), and an edit of one of its texts is
sent anew, because it cannot replace that message alone (bot/services/relay_edits.py).

Only rows that would have been claimed next anyway are taken: pending, due, never tried, of
the head's priority, one after another with nothing else between them (per-chat order holds),
sent alike (topic, protection, no buttons), while the sum fits Telegram's 4,096 characters. A
supervisor's read-along copy ("!" in its section) never goes with another conversation's. If
the call fails, the rows taken are released unattempted: still behind the head, they go with
it next time.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.crypto import Keys
from bot.db import NO_SYNC
from bot.models import Outbox
from bot.services.outbox import PENDING, decode_params, or_now
from bot.services.outbox_claim import Delivery, release
from bot.services.text_limits import TEXT_LIMIT, shown_length

log = logging.getLogger(__name__)

# How many queued rows one call may take at most (each is at least a header and a line).
MAX_TOGETHER = 50
_ALIKE = ("message_thread_id", "protect_content", "parse_mode")
_NO_STOP = 2**63 - 1  # no row behind the head stops the run


def may_take_others(delivery: Delivery) -> bool:
    return (
        delivery.section is not None
        and delivery.method == "sendMessage"
        and isinstance(delivery.params.get("text"), str)
        and "reply_markup" not in delivery.params
    )


async def with_followers(
    sessions: async_sessionmaker[AsyncSession],
    keys: Keys,
    head: Delivery,
    *,
    now: datetime,
    lease_seconds: float,
    worker_id: int | None,
) -> Delivery:
    """`take_followers` in a transaction of its own; if that fails, the head goes alone."""
    try:
        async with sessions() as session, session.begin():
            return await take_followers(
                session, keys, head, now=now, lease_seconds=lease_seconds, worker_id=worker_id
            )
    except Exception as exc:
        log.warning("outbox %d: texts behind it not added: %s", head.id, type(exc).__name__)
        return head


async def take_followers(
    session: AsyncSession,
    keys: Keys,
    head: Delivery,
    *,
    now: datetime | None = None,
    lease_seconds: float = 60,
    worker_id: int | None = None,
) -> Delivery:
    """`head` with the texts queued right behind it added (and leased), or `head` itself."""
    if not may_take_others(head):
        return head
    now = or_now(now)

    def behind(row: Any) -> tuple[Any, ...]:
        return (row.recipient == head.recipient, row.status == PENDING, row.id > head.id)

    # The first row behind the head that cannot go with it ends the run (order is kept).
    stopper = aliased(Outbox, name="stopper")
    stop = (
        select(func.min(stopper.id))
        .where(
            *behind(stopper),
            or_(
                stopper.section.is_(None),
                stopper.priority != head.priority,
                stopper.attempts != 0,
                stopper.not_before > now,
            ),
        )
        .scalar_subquery()
    )
    follower = aliased(Outbox, name="follower")
    run = (
        select(follower.id)
        .where(*behind(follower), follower.id < func.coalesce(stop, _NO_STOP))
        .order_by(follower.id)
        .limit(MAX_TOGETHER)
    )
    # UPDATE first, as claiming does: it takes SQLite's write lock at once.
    leased = await session.execute(
        update(Outbox)
        .where(Outbox.id.in_(run.scalar_subquery()), Outbox.status == PENDING)
        .values(not_before=now + timedelta(seconds=lease_seconds), leased_by=worker_id)
        .returning(Outbox.id, Outbox.payload, Outbox.section),
        execution_options=NO_SYNC,
    )
    rows = sorted(leased.all(), key=lambda row: row.id)
    text, taken = _combine(keys, head, [(row.id, row.payload, row.section) for row in rows])
    unused = [row.id for row in rows if row.id not in taken]
    if unused:
        await release(session, unused, now=now, worker_id=worker_id)
    if not taken:
        return head
    return replace(head, params={**head.params, "text": text}, together=tuple(taken))


def _combine(
    keys: Keys, head: Delivery, rows: list[tuple[int, bytes, str | None]]
) -> tuple[str, list[int]]:
    """The head's text with as many of `rows` (in order) as may follow it; their ids."""
    text = str(head.params["text"])
    last = head.section or ""
    conversations = {_conversation(last)}
    read_along = last.endswith("!")
    taken: list[int] = []
    for row_id, payload, section in rows:
        try:
            params = decode_params(keys, payload)
        except Exception:  # a damaged row is the claim's to mark dead, alone
            break
        words = params.get("text")
        if section is None or not isinstance(words, str) or not _alike(head.params, params):
            break
        if section == last:
            addition = "\n" + words.partition("\n")[2]  # the same writer: no second header
        else:
            other = _conversation(section) not in conversations
            if other and (read_along or section.endswith("!")):
                break
            addition = "\n\n" + words
        if shown_length(text + addition) > TEXT_LIMIT:
            break
        text += addition
        last = section
        conversations.add(_conversation(section))
        taken.append(row_id)
    return text, taken


def _alike(first: dict[str, Any], second: dict[str, Any]) -> bool:
    return "reply_markup" not in second and all(first.get(k) == second.get(k) for k in _ALIKE)


def _conversation(section: str) -> str:
    return section.split(":", 1)[0]
