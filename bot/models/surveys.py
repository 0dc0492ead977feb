"""Surveys: questions, counts (never a person's answer) and channel polls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    SmallInteger,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.dbtypes import CleanString, CleanText, Id, UtcDateTime
from bot.models.base import Base, one_of

SURVEY_STATUSES = ("draft", "open", "closed")


class Survey(Base):
    """A short survey: draft -> open (sent to subscribers and/or posted in channels) -> closed."""

    __tablename__ = "surveys"
    __table_args__ = (one_of("status", SURVEY_STATUSES),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(CleanString(8), default="draft")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SurveyQuestion(Base):
    """One question, in the languages it was written in: {"ru": {"q": ..., "options": [...]}}."""

    __tablename__ = "survey_questions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    texts: Mapped[str] = mapped_column(CleanText)  # JSON


class SurveyTally(Base):
    """How many answers an option got in the bot (counts only: no answer is kept per person)."""

    __tablename__ = "survey_tallies"
    __table_args__ = (UniqueConstraint("question_id", "option"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    option: Mapped[int] = mapped_column(SmallInteger)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SurveyVote(Base):
    """That someone answered a question, to stop a second answer: a keyed hash of the client
    and the question (unlinkable to the client row without the secret key), and no answer."""

    __tablename__ = "survey_votes"
    __table_args__ = (UniqueConstraint("question_id", "voter"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    voter: Mapped[str] = mapped_column(CleanString(64))


class SurveyRecipient(Base):
    """Someone a survey was sent to, so that only they can answer it (a forged button from
    anyone else is refused): a keyed hash of the client and the survey, like `SurveyVote`,
    unlinkable to the client row without the secret key."""

    __tablename__ = "survey_recipients"
    __table_args__ = (UniqueConstraint("survey_id", "recipient"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(CleanString(64))


class SurveyPoll(Base):
    """A question posted as a Telegram poll in a channel; Telegram counts its votes."""

    __tablename__ = "survey_polls"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    poll_id: Mapped[str] = mapped_column(CleanString(64), unique=True)
    message_id: Mapped[int] = mapped_column(BigInteger)
    counts: Mapped[str] = mapped_column(CleanText, default="[]")  # JSON: votes per option
