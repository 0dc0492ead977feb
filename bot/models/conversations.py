"""Human consultation: conversations, who reads along, and their messages (the inbox)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.dbtypes import CleanString, Id, UtcDateTime
from bot.models.base import Base, one_of
from bot.models.staff import STAFF_ROLES

CONVERSATION_STATUSES = ("waiting", "active", "closed")
CONVERSATION_KINDS = ("consult", "humanitarian")
# "asked" once the question went out, then the client's answer (bot/services/followup.py).
FOLLOW_UP_ANSWERS = ("asked", "helped", "not_helped", "not_reached", "stop")
# Who a recorded message is from: a whisper is a supervisor's, to the consultant only.
AUTHORS = ("client", "staff", "note", "system", "whisper")


class Conversation(Base):
    """A client's request to a human: waiting -> active -> closed (or released/transferred)."""

    __tablename__ = "conversations"
    # Serves "the next waiting one, urgent first, then oldest" without sorting the queue: a
    # take looks at urgent = true, then urgent = false, each in index order (queue.take).
    __table_args__ = (
        Index("ix_conversations_queue", "status", "urgent", "created_at", "id"),
        # /metrics reads the takes of the last day (bot/services/queue_stats.py) at each scrape.
        Index("ix_conversations_taken_at", "taken_at"),
        one_of("status", CONVERSATION_STATUSES),
        one_of("kind", CONVERSATION_KINDS),
        one_of("wanted_role", STAFF_ROLES),
        one_of("follow_up_answer", FOLLOW_UP_ANSWERS),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(CleanString(16), default="consult")  # consult | humanitarian
    status: Mapped[str] = mapped_column(CleanString(12), default="waiting")
    topic: Mapped[str] = mapped_column(CleanString(24))
    language: Mapped[str] = mapped_column(CleanString(2))
    country: Mapped[str] = mapped_column(CleanString(8))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    previous_id: Mapped[int | None] = mapped_column(Id)  # the client's earlier conversation
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    taken_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(CleanString(32))  # for reports
    outcome_detail: Mapped[str | None] = mapped_column(CleanString(24))  # e.g. the service type
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted; purged
    # Staff forum mode: the conversation's topic in the staff supergroup.
    forum_topic_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # Transferred to a role (e.g. "lawyer"): only staff of that role may take it.
    wanted_role: Mapped[str | None] = mapped_column(CleanString(16))
    # "Did you get there?" after a referral: when to ask, and the answer.
    follow_up_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    follow_up_answer: Mapped[str | None] = mapped_column(CleanString(16))
    # An urgent conversation's consultant is offered a debrief once it closes; when it was.
    debrief_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SilentJoin(Base):
    """A supervisor reading along with a conversation (handlers/desk.py): they get a copy of
    what follows, both ways, and may whisper to the consultant; the client is never told.
    Deleted when they leave or take it over, and when it stops being active."""

    __tablename__ = "silent_joins"
    __table_args__ = (UniqueConstraint("conversation_id", "staff_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class Message(Base):
    """Inbox: every message of a conversation, recorded (body encrypted) before it is relayed."""

    __tablename__ = "messages"
    __table_args__ = (one_of("author", AUTHORS),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    update_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # dedup of redelivery
    author: Mapped[str] = mapped_column(CleanString(8))  # client | staff | note | system | whisper
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(CleanString(16))  # text, photo, document, voice, sticker, ...
    body: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted text or caption
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)  # in the sender's chat
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
