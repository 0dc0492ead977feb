"""Rights-violation case records: the record in categories, /forget (the client's consent to
it is bot/services/case_consent.py).

A consultant starts a record from a conversation they hold (or closed lately); the bot asks
the client two questions (handlers/cases.py): (1) may we record what happened, anonymously;
(2) may the anonymous record stay if you later delete your data. A "no" to (1) deletes the
record begun for the question, so nothing is stored. With consent the consultant fills the
record with buttons and finishes it; supervisors export finished ones (case_export.py).

The record itself holds categories only and no timestamp finer than a month; what ties it to
the person is their consent row (bot/models_cases.py), which /forget deletes (`forget_client`),
with the record too unless they agreed to (2).

Functions flush but never commit, and return frozen views.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Result, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Conversation
from bot.models_cases import CaseConsent, CaseRecord
from bot.services import queue
from bot.services.case_fields import (
    CHOICES,
    CaseError,
    CaseView,
    clean_region,
    recent_months,
    utc,
)
from bot.services.queue import ConversationView

# A case can be recorded after a conversation too, while the consultant remembers it.
AFTER_CLOSE = timedelta(days=14)


def changed_rows(result: Result[Any]) -> int:
    """Rows an UPDATE changed (an UPDATE's result is always a cursor result)."""
    return result.rowcount if isinstance(result, CursorResult) else 0


def _view(row: CaseRecord) -> CaseView:
    return CaseView(**{f.name: getattr(row, f.name) for f in fields(CaseView)})


async def get(session: AsyncSession, case_id: int) -> CaseView | None:
    row = await session.get(CaseRecord, case_id)
    return _view(row) if row is not None else None


# --- Starting: which conversation, and the consent question ----------------------------------


def recordable(conversation: ConversationView, staff_id: int, now: datetime) -> bool:
    """Held by this consultant now, or closed by them within `AFTER_CLOSE`."""
    if conversation.staff_id != staff_id or conversation.kind != "consult":
        return False
    if conversation.status == queue.ACTIVE:
        return True
    closed = conversation.closed_at
    return (
        conversation.status == queue.CLOSED and closed is not None and closed >= now - AFTER_CLOSE
    )


async def conversations_to_record(
    session: AsyncSession, staff_id: int, *, now: datetime | None = None, limit: int = 8
) -> list[ConversationView]:
    """The consultant's open conversations, then those they closed lately, newest first."""
    moment = utc(now)
    active = await queue.active_for_staff(session, staff_id)
    closed_ids = await session.scalars(
        select(Conversation.id)
        .where(
            Conversation.staff_id == staff_id,
            Conversation.status == queue.CLOSED,
            Conversation.kind == "consult",
            Conversation.closed_at >= moment - AFTER_CLOSE,
        )
        .order_by(Conversation.closed_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    closed = [view for i in closed_ids if (view := await queue.get(session, i)) is not None]
    return (active + closed)[:limit]


# --- The consultant's form ---------------------------------------------------------------------


async def _own(session: AsyncSession, staff_id: int, case_id: int) -> CaseRecord:
    """The record, if this consultant fills it in and the client agreed."""
    row = await session.get(CaseRecord, case_id)
    if row is None or row.staff_id != staff_id or row.status == "asked":
        raise CaseError("not_yours")
    return row


async def set_field(
    session: AsyncSession,
    staff_id: int,
    case_id: int,
    field: str,
    value: str | None,
    *,
    now: datetime | None = None,
) -> CaseView:
    """One field from a button (a code of `CHOICES`, or a month of `recent_months`) or the
    region as typed (None clears it). CaseError "bad_value" for anything else."""
    row = await _own(session, staff_id, case_id)
    if field == "region":
        row.region = clean_region(value) if value is not None else None
    elif field == "month":
        if value not in recent_months(now):
            raise CaseError("bad_value")
        row.month = value
    elif field in CHOICES and value in CHOICES[field]:
        if field == "legal_aid":
            row.legal_aid = value == "yes"
        else:
            setattr(row, field, value)
    else:
        raise CaseError("bad_value")
    await session.flush()
    return _view(row)


async def finish(session: AsyncSession, staff_id: int, case_id: int) -> CaseView:
    """Mark the record done (CaseError "missing" while a required field is empty)."""
    row = await _own(session, staff_id, case_id)
    if _view(row).missing:
        raise CaseError("missing")
    row.status = "done"
    await session.flush()
    return _view(row)


# --- Export and /forget ------------------------------------------------------------------------


async def forget_client(session: AsyncSession, client_id: int) -> None:
    """For /forget, before the client row goes: their consent rows go (the only link to
    their records), and with them every record they did not agree may stay."""
    drop = select(CaseConsent.case_id).where(
        CaseConsent.client_id == client_id, CaseConsent.may_keep.is_not(True)
    )
    no_sync = {"synchronize_session": False}
    await session.execute(
        delete(CaseRecord).where(CaseRecord.id.in_(drop)), execution_options=no_sync
    )
    await session.execute(
        delete(CaseConsent).where(CaseConsent.client_id == client_id), execution_options=no_sync
    )
