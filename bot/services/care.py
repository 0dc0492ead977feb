"""Care for consultants: who to ask for help, breaks, the rest reminder, the debrief.

Consultants do hard work, often alone at night. The bot offers: a supervisor one tap away in
every conversation; a short debrief after an urgent conversation closes; a reminder to rest
after some hours on duty, once a shift; and a break that ends by itself.

Every periodic claim here is a conditional UPDATE (`... WHERE duty_reminded_at IS NULL`), so
several bot processes never remind or debrief anyone twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Client, Conversation, Staff
from bot.services import queue, staff, staff_duty
from bot.services.staff import StaffView

# A debrief is offered for conversations closed this recently: on the first run after an
# upgrade, old urgent conversations are not brought up again.
DEBRIEF_WITHIN = timedelta(hours=6)
_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class Debrief:
    conversation_id: int
    staff_id: int
    pseudonym: str | None


def _now() -> datetime:
    return datetime.now(UTC)


async def supervisors_to_ask(session: AsyncSession, *, exclude: int) -> list[StaffView]:
    """The supervisors (and coordinators) on duty; if none is, every one of them."""
    supervisors = [
        m for m in await staff.list_staff(session) if m.can_supervise and m.id != exclude
    ]
    on_duty = [m for m in supervisors if m.on_duty]
    return on_duty or supervisors


async def take_break(session: AsyncSession, staff_id: int, minutes: int) -> datetime:
    """Off duty now, back on duty after `minutes` (by `end_breaks`); when the break ends."""
    await staff_duty.set_duty(session, staff_id, False)
    until = _now() + timedelta(minutes=minutes)
    await session.execute(
        update(Staff).where(Staff.id == staff_id).values(break_until=until),
        execution_options=_NO_SYNC,
    )
    return until


async def end_breaks(session: AsyncSession) -> list[int]:
    """Put members whose break is over back on duty; their ids (each claimed once)."""
    due = await session.scalars(
        select(Staff.id).where(
            Staff.active.is_(True), Staff.break_until.is_not(None), Staff.break_until <= _now()
        )
    )
    back = []
    for staff_id in list(due):
        claimed = await session.execute(
            update(Staff)
            .where(Staff.id == staff_id, Staff.break_until.is_not(None))
            .values(break_until=None)
            .returning(Staff.id),
            execution_options=_NO_SYNC,
        )
        if claimed.scalar_one_or_none() is not None:
            await staff_duty.set_duty(session, staff_id, True)
            back.append(staff_id)
    return back


async def claim_duty_reminders(session: AsyncSession, *, hours: int) -> list[tuple[int, int]]:
    """Members on duty for `hours` or more and not yet reminded this shift: (id, whole hours
    on duty) each, marked as reminded. A shift that began before its start was tracked
    starts now."""
    now = _now()
    await session.execute(
        update(Staff)
        .where(Staff.on_duty.is_(True), Staff.on_duty_since.is_(None))
        .values(on_duty_since=now),
        execution_options=_NO_SYNC,
    )
    rows = (
        await session.execute(
            update(Staff)
            .where(
                Staff.active.is_(True),
                Staff.on_duty.is_(True),
                Staff.duty_reminded_at.is_(None),
                Staff.on_duty_since <= now - timedelta(hours=hours),
            )
            .values(duty_reminded_at=now)
            .returning(Staff.id, Staff.on_duty_since),
            execution_options=_NO_SYNC,
        )
    ).all()
    result = []
    for staff_id, since in rows:
        began: datetime = since or now
        began = began if began.tzinfo else began.replace(tzinfo=UTC)  # SQLite: naive UTC
        result.append((staff_id, max(hours, int((now - began).total_seconds() // 3600))))
    return result


async def claim_debriefs(session: AsyncSession) -> list[Debrief]:
    """Urgent conversations closed recently whose consultant has not been offered a debrief
    yet; each claimed once."""
    now = _now()
    rows = (
        await session.execute(
            update(Conversation)
            .where(
                Conversation.status == queue.CLOSED,
                Conversation.urgent.is_(True),
                Conversation.staff_id.is_not(None),
                Conversation.debrief_at.is_(None),
                Conversation.closed_at >= now - DEBRIEF_WITHIN,
            )
            .values(debrief_at=now)
            .returning(Conversation.id, Conversation.staff_id, Conversation.client_id),
            execution_options=_NO_SYNC,
        )
    ).all()
    debriefs = []
    for conversation_id, staff_id, client_id in rows:
        assert staff_id is not None  # the claim's condition
        pseudonym = await session.scalar(select(Client.pseudonym).where(Client.id == client_id))
        debriefs.append(Debrief(conversation_id, staff_id, pseudonym))
    return debriefs
