"""The last thing each client wrote: shown (short) on the buttons that ask a consultant which
conversation a message or command is for, so they can tell their clients apart by what
was said, not only by name."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Message
from bot.services.relay import MESSAGE_PURPOSE


async def last_client_lines(
    session: AsyncSession, keys: Keys, conversation_ids: Sequence[int]
) -> dict[int, str]:
    """Conversation id -> the text (or caption) of the client's latest message in it, one
    line; conversations where the client has written no text are left out."""
    if not conversation_ids:
        return {}
    latest = (
        select(func.max(Message.id))
        .where(
            Message.conversation_id.in_(conversation_ids),
            Message.author == "client",
            Message.body.is_not(None),
        )
        .group_by(Message.conversation_id)
    )
    rows = await session.execute(
        select(Message.conversation_id, Message.body).where(Message.id.in_(latest))
    )
    lines: dict[int, str] = {}
    for conversation_id, body in rows:
        if body is None:  # excluded by the query; never None here
            continue
        text = keys.decrypt(body, purpose=MESSAGE_PURPOSE).decode()
        lines[conversation_id] = " ".join(text.split())
    return lines
