"""Where recorded messages were delivered: which message a reply in a staff chat refers to,
which conversations a message shown there holds (several when texts were sent together,
bot/delivery_combine.py), and the delivered copies of a message, to relay an edit as an edit.

Reads only; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.crypto import Keys
from bot.models import Message, Outbox
from bot.services.outbox import SENT, decode_params


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


async def sent_conversations(
    session: AsyncSession, recipient: str, sent_message_id: int
) -> list[int]:
    """The conversations whose recorded messages a message the bot sent to `recipient` shows:
    one, or several when texts of several were sent together (bot/delivery_combine.py).
    Empty: not a relayed message (e.g. a notice)."""
    rows = await session.execute(
        select(Message.conversation_id, func.min(Outbox.id))
        .join(Outbox, Outbox.message_id == Message.id)
        .where(Outbox.recipient == recipient, Outbox.sent_message_id == sent_message_id)
        .group_by(Message.conversation_id)
        .order_by(func.min(Outbox.id))
    )
    return [conversation_id for conversation_id, _first in rows]


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
    # Sent together with other messages' texts in one Telegram message: not editable alone.
    combined: bool = False


async def sent_copies(session: AsyncSession, keys: Keys, message_id: int) -> list[SentCopy]:
    """The delivered copies of a recorded message (to relay an edit as an edit)."""
    other = aliased(Outbox, name="other")
    together = (
        exists()
        .where(
            other.recipient == Outbox.recipient,
            other.sent_message_id == Outbox.sent_message_id,
            other.message_id != Outbox.message_id,
        )
        .correlate(Outbox)
    )
    rows = await session.execute(
        select(
            Outbox.recipient,
            Outbox.chat_ref,
            Outbox.sent_message_id,
            Outbox.method,
            Outbox.payload,
            and_(Outbox.section.is_not(None), together),
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
    for recipient, chat_ref, sent_id, method, payload, combined in rows:
        if sent_id is None:  # excluded by the query; narrows the type
            continue
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
                bool(combined),
            )
        )
    return copies
