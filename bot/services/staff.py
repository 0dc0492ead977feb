"""Staff: consultants, lawyers, psychologists, medics, supervisors and admins; invites.

A staff member is known like a client: by an HMAC of their Telegram id, with the chat id only
encrypted, so a seized database does not list the organisation's volunteers. They join only
through an admin (CLI) or a one-time invite token that expires; only the token's SHA-256 is
stored. Their display name is what clients see, so it must not look like the bot or a system
message (shared/SECURITY.md, "someone impersonates a consultant").

This module is the record and its look-ups; changes live by job: accounts and invites
(staff_accounts.py), duty, load and topics (staff_duty.py), the display name (staff_names.py).

Audit entries: `staff_id` is who did it (None from the CLI), `detail` names what it was done to,
by database id only — never a Telegram id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import awaiting as awaiting_
from bot.crypto import Keys
from bot.models import AuditEntry, Staff
from bot.services import queue

# One list each, shared with the queue that matches conversations to staff.
ROLES = queue.ROLES
STAFF_TOPICS = queue.TOPICS


class StaffError(Exception):
    """A request about staff that cannot be done; the message says why, for the person asking."""


@dataclass(frozen=True)
class StaffView:
    id: int
    display_name: str
    role: str
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    on_duty: bool
    max_active: int
    active: bool
    current_conversation_id: int | None
    # What their next plain message means (e.g. a post's text), while it has not lapsed;
    # `lapsed` is one that ran out unfinished (the front door clears it and says so).
    awaiting: awaiting_.StaffInput | None = None
    lapsed: awaiting_.StaffInput | None = None
    # In a practice conversation (handlers/practice.py), while it has not lapsed.
    practice: awaiting_.Practice | None = None

    @property
    def can_supervise(self) -> bool:
        return self.role in ("supervisor", "admin")


def _view(row: Staff) -> StaffView:
    value, lapsed = awaiting_.current(row.awaiting, row.awaiting_until, datetime.now(UTC))
    return StaffView(
        id=row.id,
        display_name=row.display_name,
        role=row.role,
        languages=row.languages,
        topics=row.topics,
        on_duty=row.on_duty,
        max_active=row.max_active,
        active=row.active,
        current_conversation_id=row.current_conversation_id,
        awaiting=awaiting_.as_staff(value),
        lapsed=awaiting_.as_staff(lapsed),
        practice=awaiting_.as_practice(value),
    )


def _split(value: str | tuple[str, ...]) -> tuple[str, ...]:
    # Staff.languages/topics are CommaList columns (bot/dbtypes.py): tuples when read back.
    if isinstance(value, tuple):
        return value
    return tuple(part for part in value.split(",") if part)


# --- Checks shared by the modules that change members ---------------------------------------


def choose(
    values: Iterable[str] | None, allowed: tuple[str, ...], what: str, *, keep_order: bool = False
) -> tuple[str, ...]:
    """In the canonical order (or the caller's, with keep_order); None: all."""
    if values is None:
        return allowed
    if isinstance(values, str):
        values = values.split(",")
    chosen = {v.strip().lower() for v in values if v.strip()}
    unknown = sorted(chosen - set(allowed))
    if unknown:
        raise StaffError(f"unknown {what} {', '.join(unknown)}: choose from {', '.join(allowed)}")
    if not chosen:
        raise StaffError(f"choose at least one of the {what}: {', '.join(allowed)}")
    if keep_order:  # languages: the first one is the language the member reads the bot in
        ordered = dict.fromkeys(v.strip().lower() for v in values if v.strip())
        return tuple(ordered)
    return tuple(v for v in allowed if v in chosen)


def check_role(role: str) -> str:
    role = role.strip().lower()
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r}: choose from {', '.join(ROLES)}")
    return role


def check_telegram_id(telegram_id: int) -> int:
    if isinstance(telegram_id, bool) or not isinstance(telegram_id, int) or telegram_id <= 0:
        raise StaffError("a Telegram user id is a positive number")
    return telegram_id


def now() -> datetime:
    return datetime.now(UTC)


async def load_row(session: AsyncSession, staff_id: int) -> Staff | None:
    """The row, fresh from the database (not an older copy in the session)."""
    return await session.scalar(
        select(Staff).where(Staff.id == staff_id).execution_options(populate_existing=True)
    )


async def audit(session: AsyncSession, action: str, detail: str, *, by: int | None = None) -> None:
    session.add(AuditEntry(staff_id=by, action=action, detail=detail))
    await session.flush()


# --- Look-ups ------------------------------------------------------------------------------


def view_of(row: Staff) -> StaffView:
    """The view of a staff row loaded elsewhere (e.g. by the front door's one query)."""
    return _view(row)


async def find_by_telegram(session: AsyncSession, keys: Keys, telegram_id: int) -> StaffView | None:
    """The active member with this Telegram id, if any (removed members are not staff)."""
    row = await session.scalar(
        select(Staff).where(Staff.key == keys.staff_key(telegram_id), Staff.active.is_(True))
    )
    return _view(row) if row else None


async def get(session: AsyncSession, staff_id: int) -> StaffView | None:
    """The member with this id, removed or not (see `.active`)."""
    row = await load_row(session, staff_id)
    return _view(row) if row else None


async def list_staff(session: AsyncSession, include_removed: bool = False) -> list[StaffView]:
    query = select(Staff).order_by(Staff.id).execution_options(populate_existing=True)
    if not include_removed:
        query = query.where(Staff.active.is_(True))
    return [_view(row) for row in await session.scalars(query)]


async def chat_ref(session: AsyncSession, staff_id: int) -> bytes:
    """The member's encrypted chat id (removed members too: they may be told so)."""
    ref = await session.scalar(select(Staff.chat_ref).where(Staff.id == staff_id))
    if ref is None:
        raise StaffError(f"no staff member with id {staff_id}")
    return ref


async def set_awaiting(
    session: AsyncSession, staff_id: int, value: awaiting_.StaffInput | awaiting_.Practice | None
) -> None:
    """What the member's next plain message means, until it lapses (None: an answer to a
    client, as usual)."""
    until = awaiting_.expires_at(value, datetime.now(UTC)) if value is not None else None
    raw = awaiting_.encode(value) if value is not None else None
    await session.execute(
        update(Staff).where(Staff.id == staff_id).values(awaiting=raw, awaiting_until=until),
        execution_options={"synchronize_session": False},
    )
