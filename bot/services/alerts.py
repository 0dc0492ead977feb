"""Requests that wait too long: found once each, so supervisors are alerted once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry, Client, Conversation

ACTION = "wait_alert"


@dataclass(frozen=True)
class LongWait:
    conversation_id: int
    pseudonym: str | None
    topic: str
    language: str
    country: str
    urgent: bool
    minutes: int


async def claim_long_waits(
    session: AsyncSession, *, minutes: int, now: datetime | None = None
) -> list[LongWait]:
    """Waiting longer than `minutes` and not alerted yet; each is marked in the audit log."""
    now = now or datetime.now(UTC)
    alerted = select(AuditEntry.conversation_id).where(AuditEntry.action == ACTION)
    rows = (
        await session.execute(
            select(Conversation, Client.pseudonym)
            .join(Client, Client.id == Conversation.client_id)
            .where(
                Conversation.status == "waiting",
                Conversation.created_at <= now - timedelta(minutes=minutes),
                Conversation.id.not_in(alerted),
            )
            .order_by(Conversation.urgent.desc(), Conversation.created_at)
            .limit(50)
        )
    ).all()
    found = []
    for conversation, pseudonym in rows:
        session.add(AuditEntry(action=ACTION, conversation_id=conversation.id))
        created = conversation.created_at
        if created.tzinfo is None:  # SQLite returns naive UTC
            created = created.replace(tzinfo=UTC)
        found.append(
            LongWait(
                conversation.id,
                pseudonym,
                conversation.topic,
                conversation.language,
                conversation.country,
                conversation.urgent,
                int((now - created).total_seconds() // 60),
            )
        )
    await session.flush()
    return found
