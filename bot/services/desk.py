"""Supervisors' live desk: the evening on one screen, and joining a conversation silently.

A silent join is a row in `silent_joins`: while it exists and the conversation is active, the
supervisor gets a copy of every message that follows, both ways (handlers/supervision.py),
and may whisper to the consultant. Nothing is sent to the client, and nothing here returns
anything that identifies them: pseudonyms only, as everywhere staff look.

Whispers between staff are bot/services/whispers.py.

Every function re-checks the caller's role against bot/permissions.py, behind the front door.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import permissions
from bot.models import Client, Conversation, SilentJoin, Staff
from bot.services import queue


class NotSupervising(queue.NotAllowed):
    """The caller is not an active member whose role may use the desk."""


@dataclass(frozen=True)
class Held:
    """An active conversation as the desk shows it."""

    conversation_id: int
    pseudonym: str | None
    topic: str
    language: str
    urgent: bool
    staff_id: int | None
    staff_name: str
    minutes: int  # since it was first taken
    joined: bool  # the viewer is reading along


@dataclass(frozen=True)
class Overview:
    waiting: int
    longest_wait: int | None  # minutes; None when nobody waits
    on_duty: tuple[str, ...]  # display names
    held: tuple[Held, ...]


def _now() -> datetime:
    return datetime.now(UTC)


def _minutes(since: datetime | None, now: datetime) -> int:
    if since is None:
        return 0
    if since.tzinfo is None:  # SQLite hands back naive UTC
        since = since.replace(tzinfo=UTC)
    return max(0, int((now - since).total_seconds() // 60))


async def require(session: AsyncSession, staff_id: int, action: str = "desk") -> None:
    """The second check, behind the front door's: NotSupervising unless an active member
    whose role may do `action`."""
    row = (
        await session.execute(select(Staff.role, Staff.active).where(Staff.id == staff_id))
    ).one_or_none()
    if row is None or not row.active:
        raise NotSupervising(f"no active staff member {staff_id}")
    if not permissions.allowed(permissions.roles_of(row.role), action):
        raise NotSupervising(f"a {row.role} may not {action}")


async def overview(session: AsyncSession, viewer_id: int) -> Overview:
    """Waiting (count, longest wait), who is on duty, who holds which conversation."""
    await require(session, viewer_id)
    now = _now()
    waiting, oldest = (
        await session.execute(
            select(func.count(), func.min(Conversation.created_at)).where(
                Conversation.status == queue.WAITING
            )
        )
    ).one()
    on_duty = await session.scalars(
        select(Staff.display_name)
        .where(Staff.active.is_(True), Staff.on_duty.is_(True))
        .order_by(Staff.display_name)
    )
    joined = set(
        await session.scalars(
            select(SilentJoin.conversation_id).where(SilentJoin.staff_id == viewer_id)
        )
    )
    rows = await session.execute(
        _held_query()
        .where(Conversation.status == queue.ACTIVE)
        .order_by(Conversation.urgent.desc(), Staff.display_name, Conversation.taken_at)
    )
    held = tuple(_held(row, now, joined=row.id in joined) for row in rows)
    return Overview(
        waiting=int(waiting or 0),
        longest_wait=_minutes(oldest, now) if waiting else None,
        on_duty=tuple(on_duty),
        held=held,
    )


def _held_query() -> Select[*tuple[Any, ...]]:
    """An active conversation as the desk shows it (one query for the list and for one)."""
    return (
        select(
            Conversation.id,
            Client.pseudonym,
            Conversation.topic,
            Conversation.language,
            Conversation.urgent,
            Conversation.staff_id,
            Staff.display_name,
            Conversation.taken_at,
        )
        .join(Client, Client.id == Conversation.client_id)
        .outerjoin(Staff, Staff.id == Conversation.staff_id)
    )


def _held(row: Row[Any], now: datetime, *, joined: bool) -> Held:
    return Held(
        conversation_id=row.id,
        pseudonym=row.pseudonym,
        topic=row.topic,
        language=row.language,
        urgent=row.urgent,
        staff_id=row.staff_id,
        staff_name=row.display_name or "?",
        minutes=_minutes(row.taken_at, now),
        joined=joined,
    )


async def _active(session: AsyncSession, conversation_id: int) -> Held | None:
    query = _held_query().where(
        Conversation.id == conversation_id, Conversation.status == queue.ACTIVE
    )
    row = (await session.execute(query)).one_or_none()
    return _held(row, _now(), joined=False) if row is not None else None


async def join(session: AsyncSession, staff_id: int, conversation_id: int) -> Held | None:
    """Read along with an active conversation someone else holds (again: a no-op). None if
    it is not active or is the caller's own. Audited, like a look at history."""
    await require(session, staff_id, "cb:join")
    held = await _active(session, conversation_id)
    if held is None or held.staff_id == staff_id:
        return None
    exists = await session.scalar(
        select(SilentJoin.id).where(
            SilentJoin.conversation_id == conversation_id, SilentJoin.staff_id == staff_id
        )
    )
    if exists is None:
        session.add(SilentJoin(conversation_id=conversation_id, staff_id=staff_id))
        await session.flush()
        await queue.audit(session, staff_id, "silent_join", conversation_id)
    return replace(held, joined=True)


async def leave(session: AsyncSession, staff_id: int, conversation_id: int) -> bool:
    """Stop reading along; whether they were."""
    gone = await session.scalar(
        delete(SilentJoin)
        .where(SilentJoin.conversation_id == conversation_id, SilentJoin.staff_id == staff_id)
        .returning(SilentJoin.id)
    )
    if gone is not None:
        await queue.audit(session, staff_id, "silent_leave", conversation_id)
    return gone is not None


async def take_over(
    session: AsyncSession, staff_id: int, conversation_id: int
) -> tuple[queue.ConversationView, int | None]:
    """Take a conversation over from its consultant: (it, who held it before). It becomes
    the caller's and their silent join ends. NotAllowed / AtCapacity as for a transfer."""
    await require(session, staff_id, "cb:join")
    before = await session.scalar(
        select(Conversation.staff_id).where(
            Conversation.id == conversation_id, Conversation.status == queue.ACTIVE
        )
    )
    conversation = await queue.transfer(session, staff_id, conversation_id, to_staff_id=staff_id)
    await session.execute(
        delete(SilentJoin).where(
            SilentJoin.conversation_id == conversation_id, SilentJoin.staff_id == staff_id
        )
    )
    await queue.audit(session, staff_id, "take_over", conversation_id)
    return conversation, before


async def joiners(session: AsyncSession, conversation_id: int) -> list[int]:
    """Who reads along with an active conversation (its holder never does)."""
    rows = await session.scalars(
        select(SilentJoin.staff_id)
        .join(Conversation, Conversation.id == SilentJoin.conversation_id)
        .join(Staff, Staff.id == SilentJoin.staff_id)
        .where(
            SilentJoin.conversation_id == conversation_id,
            Conversation.status == queue.ACTIVE,
            Staff.active.is_(True),
            (Conversation.staff_id.is_(None)) | (Conversation.staff_id != SilentJoin.staff_id),
        )
        .order_by(SilentJoin.id)
    )
    return list(rows)


async def joined(session: AsyncSession, staff_id: int) -> list[Held]:
    """The active conversations a member reads along with."""
    ids = await session.scalars(
        select(SilentJoin.conversation_id)
        .where(SilentJoin.staff_id == staff_id)
        .order_by(SilentJoin.id)
    )
    found = [await _active(session, conversation_id) for conversation_id in ids]
    return [replace(h, joined=True) for h in found if h is not None]


async def end_stale(session: AsyncSession) -> list[tuple[int, str | None]]:
    """Delete joins of conversations that are no longer active (closed, back in the queue)
    or that the joiner now holds; (joiner, pseudonym) for each, to tell them. The delete is
    the claim: two bot processes never tell anyone twice."""
    rows = (
        await session.execute(
            select(SilentJoin.id, SilentJoin.staff_id, Client.pseudonym)
            .join(Conversation, Conversation.id == SilentJoin.conversation_id)
            .join(Client, Client.id == Conversation.client_id)
            .where(
                (Conversation.status != queue.ACTIVE)
                | (Conversation.staff_id == SilentJoin.staff_id)
            )
        )
    ).all()
    ended = []
    for row in rows:
        gone = await session.scalar(
            delete(SilentJoin).where(SilentJoin.id == row.id).returning(SilentJoin.id)
        )
        if gone is not None:
            ended.append((row.staff_id, row.pseudonym))
    return ended


async def pseudonym_of(session: AsyncSession, conversation_id: int) -> str | None:
    return await session.scalar(
        select(Client.pseudonym)
        .join(Conversation, Conversation.client_id == Client.id)
        .where(Conversation.id == conversation_id)
    )
