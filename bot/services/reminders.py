"""Invitations: a post about an event carries a "remind me" button; a client who presses it
gets a message shortly before the event.

A reminder waits in its own table and becomes an outbox row only when due (the maintenance
loop claims due ones with a conditional UPDATE, so two processes never send one twice). It is
not queued in the outbox in advance: a pending row there would hold back every other message
to that client until the event, because the outbox keeps each chat's order. `/forget` deletes
a client's reminders with the client row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Client, Post, Reminder

REMIND_BEFORE = timedelta(hours=1)


@dataclass(frozen=True)
class Added:
    status: str  # added | exists | over | unknown
    remind_at: datetime | None = None
    event_at: datetime | None = None


@dataclass(frozen=True)
class Due:
    client_id: int
    post_id: int
    language: str | None
    event_at: datetime


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def event_of(session: AsyncSession, post_id: int) -> datetime | None:
    """The event time of a published invitation, if the post is one."""
    value = await session.scalar(
        select(Post.event_at).where(Post.id == post_id, Post.status == "published")
    )
    return _utc(value) if value else None


async def add(session: AsyncSession, *, client_id: int, post_id: int, now: datetime) -> Added:
    """Remind the client `REMIND_BEFORE` the event of post `post_id` (at once if sooner)."""
    now = _utc(now)
    event_at = await event_of(session, post_id)
    if event_at is None:
        return Added("unknown")
    if event_at <= now:
        return Added("over", event_at=event_at)
    remind_at = max(now, event_at - REMIND_BEFORE)
    try:
        async with session.begin_nested():
            session.add(Reminder(client_id=client_id, post_id=post_id, remind_at=remind_at))
            await session.flush()
    except IntegrityError:
        return Added("exists", event_at=event_at)
    return Added("added", remind_at=remind_at, event_at=event_at)


async def claim_due(session: AsyncSession, now: datetime) -> list[Due]:
    """Mark due reminders sent and return them (for the caller to queue, same transaction)."""
    now = _utc(now)
    ids = list(
        await session.scalars(
            select(Reminder.id).where(Reminder.sent_at.is_(None), Reminder.remind_at <= now)
        )
    )
    if not ids:
        return []
    claimed = await session.execute(
        update(Reminder)
        .where(Reminder.id.in_(ids), Reminder.sent_at.is_(None))
        .values(sent_at=now)
        .returning(Reminder.client_id, Reminder.post_id),
        execution_options={"synchronize_session": False},
    )
    due = []
    for client_id, post_id in claimed.all():
        language = await session.scalar(select(Client.language).where(Client.id == client_id))
        event_at = await session.scalar(select(Post.event_at).where(Post.id == post_id))
        if event_at is not None:
            due.append(Due(client_id, post_id, language, _utc(event_at)))
    return due


async def next_due(session: AsyncSession) -> datetime | None:
    value = await session.scalar(
        select(func.min(Reminder.remind_at)).where(Reminder.sent_at.is_(None))
    )
    return _utc(value) if value else None
