"""Whispers: words between staff about a conversation, never for the client.

Whispers are messages of the conversation with author "whisper" (body encrypted, purged with
the rest, deduplicated by update_id like any message): a reply to one finds its way back to
whoever wrote it, and is never taken for an answer to the client. A supervisor reading along
(bot/services/desk.py) whispers to the consultant by replying to a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Conversation, Message, SilentJoin
from bot.services import queue, relay
from bot.services.relay import Incoming

WHISPER = "whisper"


@dataclass(frozen=True)
class Target:
    """Where a whisper goes: a member, about a conversation."""

    conversation_id: int
    staff_id: int


async def whisper_target(session: AsyncSession, staff_id: int, message_id: int) -> Target | None:
    """Where a reply to a relayed message goes, if it is a whisper: a reply to a whisper goes
    to its writer; a supervisor's reply to a copy of a conversation they read along with goes
    to its consultant. None: not a whisper (the reply is the consultant's to route)."""
    row = (
        await session.execute(
            select(
                Message.author,
                Message.staff_id,
                Message.conversation_id,
                Conversation.status,
                Conversation.staff_id.label("holder"),
            )
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.id == message_id)
        )
    ).one_or_none()
    if row is None:
        return None
    if row.author == WHISPER:
        if row.staff_id is None or row.staff_id == staff_id:
            return None
        return Target(row.conversation_id, row.staff_id)
    if row.status != queue.ACTIVE or row.holder in (None, staff_id):
        return None
    listening = await session.scalar(
        select(SilentJoin.id).where(
            SilentJoin.conversation_id == row.conversation_id, SilentJoin.staff_id == staff_id
        )
    )
    return Target(row.conversation_id, row.holder) if listening is not None else None


async def holder_of(session: AsyncSession, conversation_id: int) -> int | None:
    """Who holds an active conversation."""
    return await session.scalar(
        select(Conversation.staff_id).where(
            Conversation.id == conversation_id, Conversation.status == queue.ACTIVE
        )
    )


async def record_whisper(
    session: AsyncSession, keys: Keys, *, conversation_id: int, staff_id: int, incoming: Incoming
) -> int | None:
    """Record a whisper (or a call for a supervisor) in the conversation; None for a
    redelivered update."""
    return await relay.record(
        session,
        keys,
        conversation_id=conversation_id,
        author=WHISPER,
        staff_id=staff_id,
        incoming=incoming,
    )
