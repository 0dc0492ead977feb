"""Counts that outlive the person (issue 13): anonymous events, per-day counters and the
per-period marks that count distinct clients reached.

Nothing here holds a client key, a client id, a conversation id or any text; no foreign key
points at a client's rows, so `/forget` (which deletes the client and, by cascade, their
conversations) and the retention purge leave every figure where it was.

- `AnonEvent`: one thing that happened (a conversation opened, taken, closed, a rating...),
  with the day it happened and the few numbers a report needs. Its primary key is random,
  not a sequence: consecutive ids would tell which "opened" and "taken" events belong to
  the same conversation, and so to the same person.
- `DailyCount`: plain per-day counters (information screens viewed, aid requests by kind,
  post deliveries), incremented in place.
- `ReachSalt` / `ReachMark` / `ReachCount`: clients reached, distinct per calendar period
  (see bot/services/reach.py for why keyed hashes and not HyperLogLog).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, LargeBinary, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.dbtypes import CleanString, Id
from bot.models import Base


class AnonEvent(Base):
    """An anonymous event, append-only. `kind` says which; unused columns stay empty."""

    __tablename__ = "anon_events"
    __table_args__ = (Index("ix_anon_events_kind_day", "kind", "day"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)  # random
    # opened | urgent | taken | closed | referral | follow_up | rating | subscribed |
    # unsubscribed | post_published
    kind: Mapped[str] = mapped_column(CleanString(16))
    day: Mapped[date] = mapped_column(Date)  # a day, never a time: less to correlate
    country: Mapped[str] = mapped_column(CleanString(8), default="", server_default="")
    language: Mapped[str] = mapped_column(CleanString(2), default="", server_default="")
    topic: Mapped[str] = mapped_column(CleanString(24), default="", server_default="")
    # The conversation's outcome, or the answer to a follow-up question
    outcome: Mapped[str] = mapped_column(CleanString(32), default="", server_default="")
    # A referral's service type, or the conversation kind (consult | humanitarian)
    detail: Mapped[str] = mapped_column(CleanString(24), default="", server_default="")
    # Waiting seconds (taken) or the rating (rating)
    number: Mapped[int | None] = mapped_column(Integer)
    # Who took or closed it: a staff id (staff are not the people protected here), for
    # "conversations per consultant"
    staff_id: Mapped[int | None] = mapped_column(Id)


class DailyCount(Base):
    """A per-day counter: `kind` (screen | aid | post_reach) and `key` (the screen's node id,
    the aid kind); country and language are "" when unknown."""

    __tablename__ = "daily_counts"
    __table_args__ = (UniqueConstraint("day", "kind", "key", "country", "language"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(CleanString(16))
    key: Mapped[str] = mapped_column(CleanString(32), default="", server_default="")
    country: Mapped[str] = mapped_column(CleanString(8), default="", server_default="")
    language: Mapped[str] = mapped_column(CleanString(2), default="", server_default="")
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ReachSalt(Base):
    """The random salt of an open period (M2026-12, Q2026-4, Y2026); deleted at its close,
    with the period's marks, so nothing can be linked back afterwards."""

    __tablename__ = "reach_salts"

    period: Mapped[str] = mapped_column(CleanString(8), primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary)


class ReachMark(Base):
    """That someone was reached in an open period: a salted hash of their client key, once
    per period; deleted when the period closes."""

    __tablename__ = "reach_marks"
    __table_args__ = (UniqueConstraint("period", "mark"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    period: Mapped[str] = mapped_column(CleanString(8))
    mark: Mapped[str] = mapped_column(CleanString(64))
    country: Mapped[str] = mapped_column(CleanString(8), default="", server_default="")
    language: Mapped[str] = mapped_column(CleanString(2), default="", server_default="")


class ReachCount(Base):
    """A closed period's distinct clients reached, by country and language."""

    __tablename__ = "reach_counts"
    __table_args__ = (UniqueConstraint("period", "country", "language"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    period: Mapped[str] = mapped_column(CleanString(8))
    country: Mapped[str] = mapped_column(CleanString(8), default="", server_default="")
    language: Mapped[str] = mapped_column(CleanString(2), default="", server_default="")
    count: Mapped[int] = mapped_column(Integer)
