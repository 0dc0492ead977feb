"""Staff forum mode's bookkeeping: which staff-group topic mirrors which conversation."""

from __future__ import annotations

from sqlalchemy import (
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Conversation
from bot.services.queue_base import OPEN_STATUSES, ConversationView, view, views


async def set_forum_topic(session: AsyncSession, conversation_id: int, topic_id: int) -> None:
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(forum_topic_id=topic_id)
    )


async def forum_topic_of(session: AsyncSession, conversation_id: int) -> int | None:
    return await session.scalar(
        select(Conversation.forum_topic_id).where(Conversation.id == conversation_id)
    )


async def by_forum_topic(session: AsyncSession, topic_id: int) -> ConversationView | None:
    """The open conversation a staff-group topic belongs to."""
    row = (
        await session.execute(
            views().where(
                Conversation.forum_topic_id == topic_id, Conversation.status.in_(OPEN_STATUSES)
            )
        )
    ).one_or_none()
    return view(row) if row else None
