"""Staff: members, invitations, their tools (canned answers, the rota) and what they did
(the audit log, blocks).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    LargeBinary,
    SmallInteger,
    false,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.dbtypes import CleanString, CleanText, CommaList, Id, UtcDateTime
from bot.models.base import Base, one_of

# What a member does; channel admins write posts and take no conversations (bot/permissions.py).
STAFF_ROLES = ("peer", "lawyer", "psychologist", "medic", "supervisor", "admin", "channel_admin")


class Staff(Base):
    """A consultant, lawyer, psychologist, medic, supervisor or admin.

    Known by the same HMAC as clients, with the chat id encrypted: a seized database does
    not list the organisation's volunteers either.
    """

    __tablename__ = "staff"
    __table_args__ = (one_of("role", STAFF_ROLES),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(CleanString(64), unique=True)
    chat_ref: Mapped[bytes] = mapped_column(LargeBinary)
    display_name: Mapped[str] = mapped_column(CleanString(64))  # what clients see
    # Peer|lawyer|psychologist|medic|supervisor|admin
    role: Mapped[str] = mapped_column(CleanString(16))
    languages: Mapped[tuple[str, ...]] = mapped_column(CommaList(40))  # stored as "ru,uk"
    topics: Mapped[tuple[str, ...]] = mapped_column(CommaList(300))  # the topics they take
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    max_active: Mapped[int] = mapped_column(SmallInteger, default=3, server_default="3")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The conversation their next plain message goes to (kept here to survive restarts).
    current_conversation_id: Mapped[int | None] = mapped_column(Id)
    # What their next plain message means, when it is not an answer to a client (e.g. the
    # text of a post being written: "post_text:12:uk"); in the database like everything else.
    awaiting: Mapped[str | None] = mapped_column(CleanString(40))
    # When that input lapses (bot/awaiting.py): a half-written post never captures an answer
    # meant for a client hours later.
    awaiting_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Care for consultants (bot/services/care.py): when this shift on duty began, whether its
    # "you have been on duty for hours" reminder went out, and when a break they took ends.
    on_duty_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    duty_reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    break_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class Invite(Base):
    """A one-time deep link that makes whoever opens it a staff member of a role."""

    __tablename__ = "invites"
    __table_args__ = (one_of("role", STAFF_ROLES),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # The token is never stored
    token_hash: Mapped[str] = mapped_column(CleanString(64), unique=True)
    role: Mapped[str] = mapped_column(CleanString(16))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class CannedAnswer(Base):
    """A ready answer in one language that consultants send with a button; supervisors
    manage them."""

    __tablename__ = "canned_answers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    language: Mapped[str] = mapped_column(CleanString(2), index=True)
    title: Mapped[str] = mapped_column(CleanString(60))
    body: Mapped[str] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class RotaSlot(Base):
    """A weekly slot a member is on call, in the organisation's time zone (minutes of the day;
    end_minute is exclusive, at most 1440)."""

    __tablename__ = "rota_slots"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 Monday ... 6 Sunday
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)


class AuditEntry(Base):
    """Who took, transferred, closed or looked at what (no message content)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(CleanString(24))
    conversation_id: Mapped[int | None] = mapped_column(Id)
    detail: Mapped[str | None] = mapped_column(CleanString(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class Block(Base):
    """A client blocked by staff (by pseudonym), with a reason; a supervisor can lift it."""

    __tablename__ = "blocks"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    reason: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted: it may quote the client
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
