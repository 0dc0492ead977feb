"""The consultation queue's changes on the staff side: take, release, hand over, close.

The vocabulary and the views are bot/services/queue_base.py (re-exported here, as callers
know them: `queue.ACTIVE`, `queue.NotAllowed`); the guards and locks are
bot/services/queue_guards.py. Neighbouring jobs have their own modules: a client's request
(requests.py), wait estimates (estimates.py), ratings (feedback.py), notes and history
(case_history.py), the staff group's topics (forum_topics.py), and closing with all its
consequences (closing.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    func,
    literal,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.models import Conversation
from bot.services.queue_base import (
    ACTIVE,
    CLOSED,
    KINDS,
    NO_SYNC,
    NON_CONSULTING_ROLES,
    OPEN_STATUSES,
    OUTCOMES,
    ROLES,
    SUPERVISING_ROLES,
    TOPICS,
    URGENT_REASONS,
    WAITING,
    AlreadyOpen,
    AtCapacity,
    ConversationView,
    NotAllowed,
    QueueError,
    active_for_staff,
    audit,
    get,
    get_view,
    is_postgres,
    now,
    open_for_client,
    queue_order,
    transition,
    view,
    view_of,
    views,
)
from bot.services.queue_guards import (
    active_count,
    clear_current,
    held_by,
    member_of,
    next_waiting,
    set_current,
    takeable,
)

# Re-exported: the vocabulary callers know as `queue.ACTIVE`, `queue.NotAllowed`, ...
# fmt: off
__all__ = [
    "ACTIVE", "CLOSED", "KINDS", "NON_CONSULTING_ROLES", "OPEN_STATUSES", "OUTCOMES", "ROLES",
    "SUPERVISING_ROLES", "TOPICS", "URGENT_REASONS", "WAITING", "AlreadyOpen", "AtCapacity",
    "ConversationView", "NotAllowed", "QueueError", "active_for_staff", "audit", "close",
    "get", "open_for_client", "release",
    "set_outcome_detail", "take", "transfer", "view_of", "waiting_for",
]
# fmt: on


async def waiting_for(
    session: AsyncSession, staff_id: int, limit: int = 20
) -> list[ConversationView]:
    """Waiting conversations this member may take, urgent first, then oldest."""
    member = await member_of(session, staff_id, action="queue")
    rows = await session.execute(
        views()
        .where(*takeable(Conversation, member))
        .order_by(*queue_order(Conversation))
        .limit(limit)
    )
    return [view(row) for row in rows]


async def take(
    session: AsyncSession, staff_id: int, conversation_id: int | None = None
) -> ConversationView | None:
    """Claim a conversation: this one (if still waiting and allowed), or the next that fits.

    None if someone else got it first or nothing fits; AtCapacity if the member already has
    `max_active` active conversations. The claimed one becomes their current conversation.
    """
    member = await member_of(session, staff_id, lock=True, action="take")
    if await active_count(session, staff_id) >= member.max_active:
        raise AtCapacity(staff_id, member.max_active)
    moment = now()
    target: Any
    if is_postgres(session):
        # Lock the row we want; a row another taker holds is skipped, not waited for. NO KEY
        # UPDATE still lets a client's message (a row referencing this one) be recorded.
        target = None
        for urgent in (True, False):
            pick = next_waiting(Conversation, member, urgent, conversation_id)
            target = await session.scalar(pick.with_for_update(skip_locked=True, key_share=True))
            if target is not None:
                break
        if target is None:
            return None
        conditions: list[ColumnElement[bool]] = [Conversation.status == WAITING]
    elif conversation_id is not None:
        target = conversation_id
        conditions = takeable(Conversation, member)
    else:
        # SQLite: choose and claim in one statement; the write lock makes it atomic.
        urgent_first, then_oldest = aliased(Conversation), aliased(Conversation)
        target = func.coalesce(
            next_waiting(urgent_first, member, True, None).scalar_subquery(),
            next_waiting(then_oldest, member, False, None).scalar_subquery(),
        )
        conditions = [Conversation.status == WAITING]
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == target, *conditions)
        .values(
            status=ACTIVE,
            staff_id=staff_id,
            wanted_role=None,  # whoever takes it now holds it; a release is a plain one
            # The first take is when the client first got a human; a release keeps it, so
            # reports and the wait estimate measure the first answer, not the last hand-over.
            taken_at=func.coalesce(Conversation.taken_at, literal(moment, DateTime(timezone=True))),
        )
        .returning(Conversation.id),
        execution_options=NO_SYNC,
    )
    taken = result.scalar_one_or_none()
    if taken is None:
        return None
    await set_current(session, staff_id, taken)
    await audit(session, staff_id, "take", taken)
    return await get_view(session, taken)


async def release(session: AsyncSession, staff_id: int, conversation_id: int) -> ConversationView:
    """Put an active conversation back in the queue, at its old place (its age counts).

    NotAllowed unless it is active and this member's (supervisors: anyone's).
    """
    member = await member_of(session, staff_id)
    if not await transition(
        session, conversation_id, held_by(member), {"status": WAITING, "staff_id": None}
    ):
        raise NotAllowed(f"conversation {conversation_id} is not active for staff {staff_id}")
    await clear_current(session, conversation_id)
    await audit(session, staff_id, "release", conversation_id)
    return await get_view(session, conversation_id)


async def transfer(
    session: AsyncSession,
    staff_id: int,
    conversation_id: int,
    *,
    to_staff_id: int | None = None,
    to_role: str | None = None,
) -> ConversationView:
    """Hand an active conversation over: to a person (stays active, now theirs) or to a role
    (back to waiting with `wanted_role` set: only members of that role may take it, and
    supervisors; see `takeable`).

    NotAllowed unless it is active and this member's (supervisors: anyone's), or the target
    person is unknown/removed or already holds it; AtCapacity if the target person is full.
    """
    if (to_staff_id is None) == (to_role is None):
        raise ValueError("transfer to exactly one of to_staff_id or to_role")
    member = await member_of(session, staff_id)
    conditions = held_by(member)
    if to_role is not None:
        if to_role not in ROLES:
            raise ValueError(f"unknown role {to_role!r}")
        values: dict[str, Any] = {"status": WAITING, "staff_id": None, "wanted_role": to_role}
        detail = f"role:{to_role}"
    else:
        assert to_staff_id is not None
        target = await member_of(session, to_staff_id, lock=True)
        if await active_count(session, to_staff_id) >= target.max_active:
            raise AtCapacity(to_staff_id, target.max_active)
        conditions.append(Conversation.staff_id != to_staff_id)
        values = {"staff_id": to_staff_id}
        detail = f"staff:{to_staff_id}"
    if not await transition(session, conversation_id, conditions, values):
        raise NotAllowed(f"staff {staff_id} cannot transfer conversation {conversation_id}")
    await clear_current(session, conversation_id)
    if to_staff_id is not None:
        # Only if they are not in the middle of another conversation: their next message
        # must not silently go to a client they have not seen yet.
        await set_current(session, to_staff_id, conversation_id, only_if_free=True)
    await audit(session, staff_id, "transfer", conversation_id, detail)
    return await get_view(session, conversation_id)


async def close(
    session: AsyncSession,
    conversation_id: int,
    *,
    staff_id: int | None = None,
    outcome: str | None,
) -> ConversationView:
    """End a conversation.

    A staff member must give an outcome from OUTCOMES (reports count them) and may close only
    an active conversation of theirs (supervisors: any open one). Without `staff_id` it is
    the client ending their own waiting or active request, normally with `outcome=None`.
    NotAllowed if it is not open (closed already, e.g. by the other side) or not theirs.
    """
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    conditions: list[ColumnElement[bool]] = [Conversation.status.in_(OPEN_STATUSES)]
    if staff_id is not None:
        if outcome is None:
            raise ValueError("a staff member closes with an outcome")
        member = await member_of(session, staff_id)
        if not member.supervising:
            conditions = held_by(member)
    values = {"status": CLOSED, "closed_at": now(), "outcome": outcome}
    if not await transition(session, conversation_id, conditions, values):
        raise NotAllowed(f"conversation {conversation_id} cannot be closed by this caller")
    await clear_current(session, conversation_id)
    await audit(session, staff_id, "close", conversation_id, outcome)
    return await get_view(session, conversation_id)


async def set_outcome_detail(
    session: AsyncSession, staff_id: int, conversation_id: int, detail: str | None
) -> bool:
    """Record a detail for the report of an active conversation this member holds
    (supervisors: anyone's), e.g. the service type a client was referred to; `close` keeps
    it. False if the conversation is not active and theirs (any more).
    """
    if detail is not None and len(detail) > 24:  # Conversation.outcome_detail is String(24)
        raise ValueError(f"outcome detail too long: {detail!r}")
    member = await member_of(session, staff_id)
    return await transition(session, conversation_id, held_by(member), {"outcome_detail": detail})
