"""Reading recorded messages back: who wrote one, which conversation it belongs to, what a
client wrote while waiting, the row an edit refers to. Bodies are decrypted here and
nowhere else outside bot/services/relay.py, which records them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Conversation, Message
from bot.services.relay import MESSAGE_PURPOSE, Incoming


@dataclass(frozen=True)
class Sender:
    """Who wrote a recorded message, to tell them it could not be delivered."""

    author: str  # "client" | "staff"
    staff_id: int | None
    client_id: int
    conversation_id: int
    source_message_id: int | None  # in the sender's chat
    text: str | None


async def sender_of(session: AsyncSession, keys: Keys, message_id: int) -> Sender | None:
    row = (
        await session.execute(
            select(
                Message.author,
                Message.staff_id,
                Message.source_message_id,
                Message.body,
                Conversation.client_id,
                Conversation.id,
            )
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.id == message_id)
        )
    ).one_or_none()
    if row is None:
        return None
    text = keys.decrypt(row.body, purpose=MESSAGE_PURPOSE).decode() if row.body else None
    return Sender(row.author, row.staff_id, row.client_id, row.id, row.source_message_id, text)


async def conversation_of(session: AsyncSession, message_id: int) -> int | None:
    return await session.scalar(select(Message.conversation_id).where(Message.id == message_id))


async def client_messages(
    session: AsyncSession, keys: Keys, conversation_id: int, client_chat_id: int
) -> list[tuple[int, Incoming]]:
    """The client's messages in a conversation, oldest first: what a consultant who takes
    it must see first (written while the client waited)."""
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.author == "client")
        .order_by(Message.id)
    )
    return [
        (
            row.id,
            Incoming(
                update_id=row.update_id or 0,
                kind=row.kind,
                text=keys.decrypt(row.body, purpose=MESSAGE_PURPOSE).decode() if row.body else None,
                source_message_id=row.source_message_id or 0,
                chat_id=client_chat_id,
            ),
        )
        for row in rows
    ]


async def find_recorded(
    session: AsyncSession, *, author: str, chat_source_message_id: int, conversation_id: int
) -> Message | None:
    """The recorded message an edit refers to (by its id in the sender's chat)."""
    return await session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.author == author,
            Message.source_message_id == chat_source_message_id,
        )
    )
