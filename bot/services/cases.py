"""Rights-violation case records: consent, the record in categories, /forget.

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

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Result, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import permissions
from bot.models import Client, Conversation
from bot.models_cases import CaseConsent, CaseRecord
from bot.permissions import Role
from bot.services import queue
from bot.services.case_fields import (
    CHOICES,
    COUNTRIES,
    CaseError,
    CaseView,
    clean_region,
    month_of,
    recent_months,
    utc,
)
from bot.services.queue import ConversationView

# An unanswered consent question lapses: a person is not asked about a case for ever.
ASK_LIFETIME = timedelta(days=7)
# A case can be recorded after a conversation too, while the consultant remembers it.
AFTER_CLOSE = timedelta(days=14)


@dataclass(frozen=True)
class Asked:
    """A consent question to send: to which client, in which language."""

    case_id: int
    client_id: int
    chat_ref: bytes
    language: str | None
    pseudonym: str | None


@dataclass(frozen=True)
class Answered:
    """What a client's answer did: "declined" (nothing kept), "ask_keep" (ask question 2),
    "agreed" (the consultant fills the record in), "stale" (no such open question)."""

    outcome: str
    case_id: int
    staff_id: int | None = None
    pseudonym: str | None = None
    may_keep: bool | None = None


def _changed(result: Result[Any]) -> int:
    """Rows an UPDATE changed (an UPDATE's result is always a cursor result)."""
    return result.rowcount if isinstance(result, CursorResult) else 0


def _view(row: CaseRecord) -> CaseView:
    return CaseView(**{f.name: getattr(row, f.name) for f in fields(CaseView)})


async def get(session: AsyncSession, case_id: int) -> CaseView | None:
    row = await session.get(CaseRecord, case_id)
    return _view(row) if row is not None else None


# --- Starting: which conversation, and the consent question ----------------------------------


def _recordable(conversation: ConversationView, staff_id: int, now: datetime) -> bool:
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


async def ask(
    session: AsyncSession,
    roles: frozenset[Role],
    staff_id: int,
    conversation_id: int,
    *,
    now: datetime | None = None,
) -> Asked:
    """Begin a record for the question to the client (CaseError "not_yours" for a
    conversation this consultant may not record from, "pending" while a question about the
    same conversation waits for its answers)."""
    permissions.require(roles, "case")
    moment = utc(now)
    conversation = await queue.get(session, conversation_id)
    if conversation is None or not _recordable(conversation, staff_id, moment):
        raise CaseError("not_yours")
    await _drop_lapsed(session, moment)
    waiting = await session.scalar(
        select(CaseConsent.id).where(
            CaseConsent.conversation_id == conversation_id, CaseConsent.asked_at.is_not(None)
        )
    )
    if waiting is not None:
        raise CaseError("pending")
    client = (
        await session.execute(
            select(Client.chat_ref, Client.language).where(Client.id == conversation.client_id)
        )
    ).one()
    country = conversation.country if conversation.country in COUNTRIES else None
    record = CaseRecord(staff_id=staff_id, status="asked", country=country)
    session.add(record)
    await session.flush()
    session.add(
        CaseConsent(
            case_id=record.id,
            client_id=conversation.client_id,
            conversation_id=conversation_id,
            asked_at=moment,
        )
    )
    await session.flush()
    return Asked(
        case_id=record.id,
        client_id=conversation.client_id,
        chat_ref=client.chat_ref,
        language=client.language or conversation.language,
        pseudonym=conversation.pseudonym,
    )


async def _drop_lapsed(session: AsyncSession, now: datetime) -> None:
    """Records begun for a question nobody answered in time: nothing was agreed, so nothing
    stays (the consent row goes with its record)."""
    lapsed = select(CaseConsent.case_id).where(CaseConsent.asked_at < now - ASK_LIFETIME)
    await session.execute(
        delete(CaseRecord).where(CaseRecord.id.in_(lapsed)),
        execution_options={"synchronize_session": False},
    )


# --- The client's answers ----------------------------------------------------------------------


async def answer(
    session: AsyncSession,
    client_id: int,
    case_id: int,
    choice: str,
    *,
    now: datetime | None = None,
) -> Answered:
    """The client's answer to question (1) ("yes"/"no") or (2) ("keep"/"drop"), for a
    question asked of them and still open; each step is a conditional change, so a second
    press or a forged button changes nothing ("stale")."""
    moment = utc(now)
    row = (
        await session.execute(
            select(CaseConsent, CaseRecord.staff_id, Client.pseudonym)
            .join(CaseRecord, CaseRecord.id == CaseConsent.case_id)
            .join(Client, Client.id == CaseConsent.client_id)
            .where(CaseConsent.case_id == case_id, CaseConsent.client_id == client_id)
        )
    ).one_or_none()
    stale = Answered("stale", case_id)
    if row is None:
        return stale
    consent, staff_id, pseudonym = row
    asked_at = consent.asked_at
    if asked_at is None or utc(asked_at) < moment - ASK_LIFETIME:
        return stale
    mine = (CaseConsent.case_id == case_id, CaseConsent.client_id == client_id)
    if choice in ("yes", "no"):
        if consent.may_record is not None:
            return stale
        if choice == "no":
            # Declined: the record begun for the question goes, and its consent row with it.
            await session.execute(delete(CaseConsent).where(*mine))
            await session.execute(delete(CaseRecord).where(CaseRecord.id == case_id))
            return Answered("declined", case_id, staff_id, pseudonym)
        changed = await session.execute(
            update(CaseConsent)
            .where(*mine, CaseConsent.may_record.is_(None))
            .values(may_record=True)
        )
        return Answered("ask_keep", case_id, staff_id, pseudonym) if _changed(changed) else stale
    if choice not in ("keep", "drop") or consent.may_record is not True:
        return stale
    keep = choice == "keep"
    changed = await session.execute(
        update(CaseConsent)
        .where(*mine, CaseConsent.may_record.is_(True), CaseConsent.may_keep.is_(None))
        .values(may_keep=keep, month=month_of(moment), asked_at=None)
    )
    if not _changed(changed):
        return stale
    await session.execute(
        update(CaseRecord).where(CaseRecord.id == case_id).values(status="filling")
    )
    return Answered("agreed", case_id, staff_id, pseudonym, keep)


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
