"""Referral follow-up: a few days after "referred", ask the client whether they got there.

The answer is stored with the conversation's outcome, for reports; a client can say
"don't ask me again", which is remembered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Client, Conversation

ANSWERS = ("helped", "not_helped", "not_reached", "stop")
ASKED = "asked"


@dataclass(frozen=True)
class DueFollowUp:
    conversation_id: int
    client_id: int
    language: str
    service_type: str | None


def _now() -> datetime:
    return datetime.now(UTC)


async def schedule(session: AsyncSession, conversation_id: int, *, days: int) -> bool:
    """Plan the question, unless the client asked never to be asked. True if planned."""
    opted_out = await session.scalar(
        select(Client.no_follow_up)
        .join(Conversation, Conversation.client_id == Client.id)
        .where(Conversation.id == conversation_id)
    )
    if opted_out is None or opted_out:
        return False
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(follow_up_at=_now() + timedelta(days=days))
    )
    return True


async def claim_due(session: AsyncSession, *, now: datetime | None = None) -> list[DueFollowUp]:
    """Follow-ups whose time has come, marked as asked so that no process asks twice."""
    now = now or _now()
    rows = (
        await session.execute(
            select(
                Conversation.id,
                Conversation.client_id,
                Conversation.language,
                Conversation.outcome_detail,
            )
            .where(Conversation.follow_up_at <= now, Conversation.follow_up_answer.is_(None))
            .limit(100)
        )
    ).all()
    due = []
    for conversation_id, client_id, language, detail in rows:
        claimed = await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.follow_up_answer.is_(None))
            .values(follow_up_answer=ASKED, follow_up_at=None)
            .returning(Conversation.id)
        )
        if claimed.scalar_one_or_none() is not None:
            due.append(DueFollowUp(conversation_id, client_id, language, detail))
    return due


async def answer(session: AsyncSession, conversation_id: int, client_id: int, value: str) -> bool:
    """Store the client's answer to a question we asked them; False if it is not theirs."""
    if value not in ANSWERS:
        return False
    if value == "stop":
        await session.execute(
            update(Client).where(Client.id == client_id).values(no_follow_up=True)
        )
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.client_id == client_id,
            Conversation.follow_up_answer == ASKED,
        )
        .values(follow_up_answer=value)
        .returning(Conversation.id)
    )
    return result.scalar_one_or_none() is not None
