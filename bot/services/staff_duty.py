"""What a member changes about their own work: on or off duty, how many conversations at
once (their cap), their topics and display name; and who is on duty for a request."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy import CursorResult, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Staff
from bot.services import queue, staff
from bot.services.staff import StaffError, StaffView
from bot.services.staff_names import validate_display_name

MAX_ACTIVE_LIMIT = 20


async def set_duty(session: AsyncSession, staff_id: int, on: bool | None) -> StaffView:
    """Go on or off duty; None toggles. StaffError for an unknown or removed member, and
    for a role that takes no conversations."""
    before = (
        await session.execute(select(Staff.role, Staff.on_duty).where(Staff.id == staff_id))
    ).one_or_none()
    role, was_on = before if before is not None else (None, False)
    if role in queue.NON_CONSULTING_ROLES and on is not False:
        raise StaffError("channel admins write posts and take no conversations")
    value = not_(Staff.on_duty) if on is None else bool(on)
    result = await session.execute(
        update(Staff)
        .where(Staff.id == staff_id, Staff.active.is_(True))
        .values(on_duty=value)
        .execution_options(synchronize_session="fetch")
    )
    if not cast("CursorResult[tuple[()]]", result).rowcount:
        raise StaffError(f"no active staff member with id {staff_id}")
    row = await staff.load_row(session, staff_id)
    assert row is not None
    # A shift starts when they go on duty (its length drives the rest reminder, once a shift);
    # any change of duty by hand ends a break they were on (bot/services/care.py).
    if not row.on_duty:
        row.on_duty_since = row.duty_reminded_at = None
    elif not was_on or row.on_duty_since is None:
        row.on_duty_since, row.duty_reminded_at = staff.now(), None
    row.break_until = None
    await session.flush()
    return staff.view_of(row)


async def on_duty_for(
    session: AsyncSession, *, language: str, topic: str, urgent: bool = False
) -> list[StaffView]:
    """Active members on duty who serve this language and topic; everyone on duty if urgent.

    Their current load (max_active) is the queue's to weigh.
    """
    rows = await session.scalars(
        select(Staff)
        .where(Staff.active.is_(True), Staff.on_duty.is_(True))
        .order_by(Staff.id)
        .execution_options(populate_existing=True)
    )
    members = [staff.view_of(row) for row in rows]
    if urgent:
        return members
    return [s for s in members if language in s.languages and topic in s.topics]


async def set_profile(
    session: AsyncSession,
    staff_id: int,
    *,
    display_name: str | None = None,
    topics: Iterable[str] | None = None,
    max_active: int | None = None,
) -> StaffView:
    """Change what a member may change about themselves; the others stay as they are."""
    changes: dict[str, object] = {}
    if display_name is not None:
        changes["display_name"] = validate_display_name(display_name)
    if topics is not None:
        changes["topics"] = staff.choose(topics, staff.STAFF_TOPICS, "topics")
    if max_active is not None:
        if not 1 <= max_active <= MAX_ACTIVE_LIMIT:
            raise StaffError(f"at most 1 to {MAX_ACTIVE_LIMIT} conversations at once")
        changes["max_active"] = max_active
    row = await staff.load_row(session, staff_id)
    if row is None or not row.active:
        raise StaffError(f"no active staff member with id {staff_id}")
    for name, value in changes.items():
        setattr(row, name, value)
    await session.flush()
    return staff.view_of(row)
