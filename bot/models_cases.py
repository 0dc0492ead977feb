"""Rights-violation case records (issue 13), on the shared declarative Base of bot.models.

A case record says what happened in categories only: the kind of violation, country, a
region in a few words, the month, who did it, whether legal aid was given and how it ended.
No name, no exact date or place, no narrative, and no column that points to a client.

The one link between a record and a person is their consent (`CaseConsent`): the answers to
the two questions the bot asked them, the month they answered, the client and the
conversation the consultant started from. /forget deletes the consent, and the record with
it unless the person agreed that the anonymous record may stay (bot/services/cases.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from bot.dbtypes import CleanString, Id
from bot.models import Base


class CaseRecord(Base):
    """One documented violation: asked (waiting for consent) -> filling -> done."""

    __tablename__ = "case_records"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # Who fills it in (only they may); the staff member, never the client.
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(CleanString(8), default="asked")
    violation: Mapped[str | None] = mapped_column(CleanString(24))
    country: Mapped[str | None] = mapped_column(CleanString(8))  # RU, UA, KZ, other
    region: Mapped[str | None] = mapped_column(CleanString(64))  # a province or large city
    month: Mapped[str | None] = mapped_column(CleanString(7), index=True)  # YYYY-MM, no day
    perpetrator: Mapped[str | None] = mapped_column(CleanString(16))
    legal_aid: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str | None] = mapped_column(CleanString(16))


class CaseConsent(Base):
    """A client's answers about one case record: the only row that ties it to them."""

    __tablename__ = "case_consents"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_records.id", ondelete="CASCADE"), unique=True
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    # (1) may we record it; (2) may the anonymous record stay after /forget. None: not yet
    # answered.
    may_record: Mapped[bool | None] = mapped_column(Boolean)
    may_keep: Mapped[bool | None] = mapped_column(Boolean)
    month: Mapped[str | None] = mapped_column(CleanString(7))  # answered in, YYYY-MM
    # While the questions wait for answers: an unanswered one lapses (services/case_consent.py).
    asked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
