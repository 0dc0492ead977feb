"""Staff forum mode's bookkeeping: which staff-group topic mirrors which conversation, and
closing the topic when the conversation closes (a no-op without PEERLINE_STAFF_GROUP_ID)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Conversation
from bot.services import outbox
from bot.services.queue_base import OPEN_STATUSES, ConversationView, view, views

if TYPE_CHECKING:
    from bot.runtime import Runtime


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


async def close_topic(session: AsyncSession, runtime: Runtime, conversation_id: int) -> bool:
    """Queue the closing of the conversation's topic, if it has one; whether it had."""
    group = runtime.settings.staff_group_id
    thread = await forum_topic_of(session, conversation_id) if group else None
    if group is None or thread is None:
        return False
    await outbox.enqueue(
        session,
        runtime.keys,
        chat_ref=runtime.keys.encrypt_chat_id(group),
        recipient=f"forum:{conversation_id}",
        method="closeForumTopic",
        params={"message_thread_id": thread},
    )
    return True
