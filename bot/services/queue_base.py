"""What every queue module shares: the vocabulary (statuses, topics, outcomes, roles), the
frozen view of a conversation, the queue's refusals, reading views, and the guarded change
of one row (`transition`) that every state change goes through.

Functions flush but never commit: the caller's transaction also records the update that
caused the change ("Inbox and outbox", shared/DESIGN.md). They return frozen views built
from selected columns, never ORM objects, so nothing read here goes stale in the caller's
session. Who may change what is bot/services/queue_guards.py; the changes themselves are
bot/services/queue.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry, Client, Conversation

TOPICS = (
    "ost",
    "hiv",
    "tb",
    "hepatitis",
    "testing",
    "legal",
    "psychologist",
    "humanitarian",
    "general",
)
URGENT_REASONS = ("overdose", "violence", "suicide")
OUTCOMES = ("information", "referred", "legal_aid", "humanitarian", "no_answer", "other")
KINDS = ("consult", "humanitarian")
ROLES = ("peer", "lawyer", "psychologist", "medic", "supervisor", "admin", "channel_admin")
# Channel admins write posts; they take no conversations (no topics, never on duty).
NON_CONSULTING_ROLES = frozenset({"channel_admin"})
# They manage the queue: see every waiting conversation and may act on anyone's.
SUPERVISING_ROLES = frozenset({"supervisor", "admin"})

WAITING, ACTIVE, CLOSED = "waiting", "active", "closed"
OPEN_STATUSES = (WAITING, ACTIVE)


# Our UPDATEs carry their own conditions; the ORM must not try to evaluate them in Python.
NO_SYNC = {"synchronize_session": False}


class QueueError(Exception):
    """Base of the queue's refusals (handlers turn them into polite answers)."""


class AlreadyOpen(QueueError):
    """The client already has a waiting or active conversation (in `.conversation`)."""

    def __init__(self, conversation: ConversationView) -> None:
        super().__init__(f"client already has open conversation {conversation.id}")
        self.conversation = conversation


class AtCapacity(QueueError):
    """The staff member already has `max_active` active conversations."""

    def __init__(self, staff_id: int, max_active: int) -> None:
        super().__init__(f"staff {staff_id} already has {max_active} active conversations")
        self.staff_id = staff_id
        self.max_active = max_active


class NotAllowed(QueueError):
    """Unknown or removed staff member, or a conversation this caller may not change now
    (closed already, someone else's, not waiting, unknown)."""


@dataclass(frozen=True)
class ConversationView:
    id: int
    client_id: int
    pseudonym: str | None
    kind: str
    status: str
    topic: str
    language: str
    country: str
    urgent: bool
    staff_id: int | None
    previous_id: int | None
    created_at: datetime
    taken_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    rating: int | None
    # Set by a transfer to a role: only staff of that role may take it (cleared on take).
    wanted_role: str | None = None


VIEW_COLUMNS = (
    Conversation.id,
    Conversation.client_id,
    Client.pseudonym,
    Conversation.kind,
    Conversation.status,
    Conversation.topic,
    Conversation.language,
    Conversation.country,
    Conversation.urgent,
    Conversation.staff_id,
    Conversation.previous_id,
    Conversation.created_at,
    Conversation.taken_at,
    Conversation.closed_at,
    Conversation.outcome,
    Conversation.rating,
    Conversation.wanted_role,
)


def now() -> datetime:
    # Timestamps come from Python, not the database: PostgreSQL's now() is the transaction
    # start and SQLite's CURRENT_TIMESTAMP has whole seconds, both too coarse to order by.
    return datetime.now(UTC)


def utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def views() -> Any:
    return select(*VIEW_COLUMNS).join(Client, Client.id == Conversation.client_id)


def view(row: Row[Any]) -> ConversationView:
    return view_of_values(dict(row._mapping))


def view_of_values(values: dict[str, Any]) -> ConversationView:
    """A view from `VIEW_COLUMNS`' values by key (selected along with other columns)."""
    for name in ("created_at", "taken_at", "closed_at"):
        values[name] = utc(values[name])
    return ConversationView(**values)


def view_of(conversation: Conversation, pseudonym: str | None) -> ConversationView:
    """The view of a conversation row loaded elsewhere (e.g. by the front door's one query)."""
    values = {column.key: getattr(conversation, column.key) for column in VIEW_COLUMNS[:2]}
    values.update(
        {column.key: getattr(conversation, column.key) for column in VIEW_COLUMNS[3:]},
        pseudonym=pseudonym,
    )
    for name in ("created_at", "taken_at", "closed_at"):
        values[name] = utc(values[name])
    return ConversationView(**values)


async def get_view(session: AsyncSession, conversation_id: int) -> ConversationView:
    row = (await session.execute(views().where(Conversation.id == conversation_id))).one()
    return view(row)


def queue_order(c: Any) -> tuple[ColumnElement[Any], ...]:
    """Urgent first, then oldest; the id breaks ties. Shared by take, lists and positions."""
    return (c.urgent.desc(), c.created_at, c.id)


async def transition(
    session: AsyncSession,
    conversation_id: int,
    conditions: Sequence[ColumnElement[bool]],
    values: dict[str, Any],
) -> bool:
    """Apply `values` only if the row still meets `conditions`; whether it did."""
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, *conditions)
        .values(**values)
        .returning(Conversation.id),
        execution_options=NO_SYNC,
    )
    return result.scalar_one_or_none() is not None


async def get(session: AsyncSession, conversation_id: int) -> ConversationView | None:
    """A conversation by id, whatever its status."""
    row = (await session.execute(views().where(Conversation.id == conversation_id))).one_or_none()
    return view(row) if row else None


async def open_for_client(session: AsyncSession, client_id: int) -> ConversationView | None:
    """The client's waiting or active conversation, if any."""
    row = (
        await session.execute(
            views()
            .where(
                Conversation.client_id == client_id,
                Conversation.status.in_(OPEN_STATUSES),
            )
            .order_by(Conversation.id.desc())
            .limit(1)
        )
    ).one_or_none()
    return view(row) if row else None


async def active_for_staff(session: AsyncSession, staff_id: int) -> list[ConversationView]:
    """The member's active conversations, in the order they took them."""
    rows = await session.execute(
        views()
        .where(Conversation.staff_id == staff_id, Conversation.status == ACTIVE)
        .order_by(Conversation.taken_at, Conversation.id)
    )
    return [view(row) for row in rows]


async def audit(
    session: AsyncSession,
    staff_id: int | None,
    action: str,
    conversation_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Record who did what to which conversation (never message content)."""
    session.add(
        AuditEntry(
            staff_id=staff_id,
            action=action,
            conversation_id=conversation_id,
            # The column holds 200 characters; an over-long note must not fail the action.
            detail=detail[:200] if detail else detail,
        )
    )
    await session.flush()
