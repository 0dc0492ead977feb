"""The client's consent to a rights-violation case record (bot/services/cases.py has the
record itself): a consultant starts one from a conversation, the client is asked (1) may we
record what happened, anonymously, and (2) may the anonymous record stay if you later delete
your data. A "no" to (1) deletes the record begun for the question, so nothing is stored; an
unanswered question lapses after `ASK_LIFETIME`, and the record begun for it goes too.

Functions flush but never commit, and return frozen views.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import permissions
from bot.models import Client
from bot.models_cases import CaseConsent, CaseRecord
from bot.permissions import Role
from bot.services import cases, queue
from bot.services.case_fields import COUNTRIES, CaseError, month_of, utc

# An unanswered consent question lapses: a person is not asked about a case for ever.
ASK_LIFETIME = timedelta(days=7)


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
    if conversation is None or not cases.recordable(conversation, staff_id, moment):
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
        return (
            Answered("ask_keep", case_id, staff_id, pseudonym)
            if cases.changed_rows(changed)
            else stale
        )
    if choice not in ("keep", "drop") or consent.may_record is not True:
        return stale
    keep = choice == "keep"
    changed = await session.execute(
        update(CaseConsent)
        .where(*mine, CaseConsent.may_record.is_(True), CaseConsent.may_keep.is_(None))
        .values(may_keep=keep, month=month_of(moment), asked_at=None)
    )
    if not cases.changed_rows(changed):
        return stale
    await session.execute(
        update(CaseRecord).where(CaseRecord.id == case_id).values(status="filling")
    )
    return Answered("agreed", case_id, staff_id, pseudonym, keep)
