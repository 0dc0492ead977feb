"""Who may act on which conversation, and the locks that make a take atomic.

Claiming is atomic across bot processes (shared/DESIGN.md, "Queue"). On SQLite one
conditional UPDATE decides who wins; on PostgreSQL the row is locked with
`SELECT ... FOR NO KEY UPDATE SKIP LOCKED`, so a second taker moves on instead of waiting.
Every other state change is a conditional UPDATE too ("... WHERE status = 'active' AND
staff_id = :me"), so a stale button or a double tap never moves a conversation its caller no
longer holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot import permissions
from bot.models import Client, Conversation, Staff
from bot.services.queue_base import (
    ACTIVE,
    NO_SYNC,
    SUPERVISING_ROLES,
    WAITING,
    NotAllowed,
    is_postgres,
)


@dataclass(frozen=True)
class Member:
    id: int
    role: str
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    max_active: int

    @property
    def supervising(self) -> bool:
        return self.role in SUPERVISING_ROLES


def next_waiting(c: Any, member: Member, urgent: bool, conversation_id: int | None) -> Any:
    """The first takeable conversation with this urgency, oldest first. Asking per urgency
    (urgent first) walks ix_conversations_queue in order and stops at the first fit; one
    query ordered by `urgent DESC` made every take sort every waiting row (issue 12)."""
    pick = select(c.id).where(*takeable(c, member), c.urgent == (true() if urgent else false()))
    if conversation_id is not None:
        pick = pick.where(c.id == conversation_id)
    return pick.order_by(c.created_at, c.id).limit(1)


def takeable(c: Any, member: Member) -> list[ColumnElement[bool]]:
    """Waiting and, unless the member supervises (they may take any): in a language they
    serve, and either handed over to their role (`wanted_role`, whatever the topic: an OST
    question transferred to "lawyer" must reach a lawyer who takes only "legal") or, if not
    handed over to a role, in a topic they serve."""
    conditions: list[ColumnElement[bool]] = [c.status == WAITING]
    if not member.supervising:
        conditions += [
            c.language.in_(member.languages),
            or_(
                c.wanted_role == member.role,
                and_(c.wanted_role.is_(None), c.topic.in_(member.topics)),
            ),
        ]
    return conditions


def held_by(member: Member) -> list[ColumnElement[bool]]:
    """Active and this member's (supervisors may act on anyone's active conversation)."""
    conditions: list[ColumnElement[bool]] = [Conversation.status == ACTIVE]
    if not member.supervising:
        conditions.append(Conversation.staff_id == member.id)
    return conditions


async def member_of(
    session: AsyncSession, staff_id: int, *, lock: bool = False, action: str = "answer"
) -> Member:
    """An active staff member whose role may do `action` (bot/permissions.py: the second
    check, behind the front door's); NotAllowed otherwise.

    `lock` serialises this member's takes until commit, so `max_active` holds even when they
    press two "take" buttons at once. PostgreSQL: a row lock (NO KEY, so rows that merely
    reference this member are not blocked). SQLite has no row locks, and the driver only
    begins a transaction at the first write, so a no-op UPDATE takes the database write lock
    and everything after it reads under that lock.
    """
    query = select(
        Staff.id, Staff.role, Staff.languages, Staff.topics, Staff.max_active, Staff.active
    ).where(Staff.id == staff_id)
    if lock:
        if is_postgres(session):
            query = query.with_for_update(key_share=True)
        else:
            await session.execute(
                update(Staff).where(Staff.id == staff_id).values(max_active=Staff.max_active),
                execution_options=NO_SYNC,
            )
    row = (await session.execute(query)).one_or_none()
    if row is None or not row.active:
        raise NotAllowed(f"no active staff member {staff_id}")
    if not permissions.allowed(permissions.roles_of(row.role), action):
        raise NotAllowed(f"a {row.role} may not {action}")
    return Member(
        id=row.id,
        role=row.role,
        languages=tuple(row.languages),
        topics=tuple(row.topics),
        max_active=row.max_active,
    )


async def lock_client(session: AsyncSession, client_id: int) -> bool:
    """Serialise changes to one client's conversations until commit (see `member_of`).

    Without it, a double tap on "ask a human" could open two conversations. False if the
    client does not exist.
    """
    if is_postgres(session):
        query = select(Client.id).where(Client.id == client_id).with_for_update(key_share=True)
        return await session.scalar(query) is not None
    result = await session.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(pseudonym=Client.pseudonym)
        .returning(Client.id),
        execution_options=NO_SYNC,
    )
    return result.scalar_one_or_none() is not None


async def active_count(session: AsyncSession, staff_id: int) -> int:
    query = select(func.count()).where(
        Conversation.staff_id == staff_id, Conversation.status == ACTIVE
    )
    return int(await session.scalar(query) or 0)


async def clear_current(session: AsyncSession, conversation_id: int) -> None:
    # `Staff.current_conversation_id` is kept up to date but routes nothing any more: a
    # consultant's message goes by reply, or to their only conversation, else they are asked
    # (handlers/staff_common.find_target; issue 10). Kept to avoid a migration.
    await session.execute(
        update(Staff)
        .where(Staff.current_conversation_id == conversation_id)
        .values(current_conversation_id=None),
        execution_options=NO_SYNC,
    )


async def set_current(
    session: AsyncSession, staff_id: int, conversation_id: int, *, only_if_free: bool = False
) -> None:
    query = update(Staff).where(Staff.id == staff_id)
    if only_if_free:
        query = query.where(Staff.current_conversation_id.is_(None))
    await session.execute(
        query.values(current_conversation_id=conversation_id), execution_options=NO_SYNC
    )
