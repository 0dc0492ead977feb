"""What staff may read about a conversation besides its messages: their private notes,
and the client's earlier conversations (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Conversation, Message, Staff
from bot.services.queue_base import CLOSED, ConversationView, NotAllowed, audit, utc, view, views
from bot.services.queue_guards import held_by, member_of
from bot.services.relay import MESSAGE_PURPOSE


@dataclass(frozen=True)
class NoteView:
    """A staff member's private note on a conversation (never sent to the client)."""

    id: int
    conversation_id: int
    staff_id: int | None
    author: str | None  # the author's display name; None if they are gone from the database
    text: str
    created_at: datetime


async def notes(session: AsyncSession, keys: Keys, conversation_id: int) -> list[NoteView]:
    """The staff notes on a conversation, oldest first (decrypted; for staff eyes only).

    Notes are messages with author "note": recorded like any message, never relayed.
    """
    rows = await session.execute(
        select(
            Message.id,
            Message.conversation_id,
            Message.staff_id,
            Staff.display_name,
            Message.body,
            Message.created_at,
        )
        .outerjoin(Staff, Staff.id == Message.staff_id)
        .where(Message.conversation_id == conversation_id, Message.author == "note")
        .order_by(Message.id)
    )
    return [
        NoteView(
            id=row.id,
            conversation_id=row.conversation_id,
            staff_id=row.staff_id,
            author=row.display_name,
            text=keys.decrypt(row.body, purpose=MESSAGE_PURPOSE).decode() if row.body else "",
            created_at=utc(row.created_at),  # type: ignore[arg-type]
        )
        for row in rows
    ]


async def history(
    session: AsyncSession, conversation_id: int, staff_id: int, limit: int = 20
) -> list[ConversationView]:
    """The same client's earlier closed conversations, newest first. Audited.

    Only for the member holding the conversation now (supervisors: any), so knowing an id
    is not enough to browse someone's past.
    """
    member = await member_of(session, staff_id)
    query = select(Conversation.client_id).where(Conversation.id == conversation_id)
    if not member.supervising:
        query = query.where(*held_by(member))
    client_id = await session.scalar(query)
    if client_id is None:
        raise NotAllowed(f"staff {staff_id} may not see the history of {conversation_id}")
    rows = await session.execute(
        views()
        .where(
            Conversation.client_id == client_id,
            Conversation.status == CLOSED,
            Conversation.id < conversation_id,
        )
        .order_by(Conversation.id.desc())
        .limit(limit)
    )
    earlier = [view(row) for row in rows]
    await audit(session, staff_id, "history", conversation_id)
    return earlier
