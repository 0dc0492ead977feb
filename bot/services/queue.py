"""The consultation queue: clients wait, staff take, answer, hand over and close.

Claiming is atomic across bot processes (shared/DESIGN.md, "Queue"). On SQLite one
conditional UPDATE decides who wins; on PostgreSQL the row is locked with
`SELECT ... FOR NO KEY UPDATE SKIP LOCKED`, so a second taker moves on instead of waiting.
Every other state change is a conditional UPDATE too ("... WHERE status = 'active' AND
staff_id = :me"), so a stale button or a double tap never moves a conversation its caller no
longer holds.

Functions flush but never commit: the caller's transaction also records the update that
caused the change ("Inbox and outbox"). They return frozen views built from selected
columns, never ORM objects, so nothing read here goes stale in the caller's session.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Row,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot import permissions
from bot.crypto import Keys
from bot.models import AuditEntry, Client, Conversation, Message, Staff
from bot.services import pseudonyms
from bot.services.relay import MESSAGE_PURPOSE

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

COMMENT_MAX = 1000  # characters of a rating comment
WAIT_HISTORY = 50  # how many recent takes the wait estimate looks at
_PSEUDONYM_ATTEMPTS = 20

# Our UPDATEs carry their own conditions; the ORM must not try to evaluate them in Python.
_NO_SYNC = {"synchronize_session": False}


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


@dataclass(frozen=True)
class NoteView:
    """A staff member's private note on a conversation (never sent to the client)."""

    id: int
    conversation_id: int
    staff_id: int | None
    author: str | None  # the author's display name; None if they are gone from the database
    text: str
    created_at: datetime


@dataclass(frozen=True)
class _Member:
    id: int
    role: str
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    max_active: int

    @property
    def supervising(self) -> bool:
        return self.role in SUPERVISING_ROLES


_VIEW_COLUMNS = (
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


# --- Helpers -------------------------------------------------------------------------------


def _now() -> datetime:
    # Timestamps come from Python, not the database: PostgreSQL's now() is the transaction
    # start and SQLite's CURRENT_TIMESTAMP has whole seconds, both too coarse to order by.
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _views() -> Any:
    return select(*_VIEW_COLUMNS).join(Client, Client.id == Conversation.client_id)


def _view(row: Row[Any]) -> ConversationView:
    values = dict(row._mapping)
    for name in ("created_at", "taken_at", "closed_at"):
        values[name] = _utc(values[name])
    return ConversationView(**values)


def view_of(conversation: Conversation, pseudonym: str | None) -> ConversationView:
    """The view of a conversation row loaded elsewhere (e.g. by the front door's one query)."""
    values = {column.key: getattr(conversation, column.key) for column in _VIEW_COLUMNS[:2]}
    values.update(
        {column.key: getattr(conversation, column.key) for column in _VIEW_COLUMNS[3:]},
        pseudonym=pseudonym,
    )
    for name in ("created_at", "taken_at", "closed_at"):
        values[name] = _utc(values[name])
    return ConversationView(**values)


async def _get_view(session: AsyncSession, conversation_id: int) -> ConversationView:
    row = (await session.execute(_views().where(Conversation.id == conversation_id))).one()
    return _view(row)


def _queue_order(c: Any) -> tuple[ColumnElement[Any], ...]:
    """Urgent first, then oldest; the id breaks ties. Shared by take, lists and positions."""
    return (c.urgent.desc(), c.created_at, c.id)


def _next_waiting(c: Any, member: _Member, urgent: bool, conversation_id: int | None) -> Any:
    """The first takeable conversation with this urgency, oldest first. Asking per urgency
    (urgent first) walks ix_conversations_queue in order and stops at the first fit; one
    query ordered by `urgent DESC` made every take sort every waiting row (issue 12)."""
    pick = select(c.id).where(*_takeable(c, member), c.urgent == (true() if urgent else false()))
    if conversation_id is not None:
        pick = pick.where(c.id == conversation_id)
    return pick.order_by(c.created_at, c.id).limit(1)


def _takeable(c: Any, member: _Member) -> list[ColumnElement[bool]]:
    """Waiting and, unless the member supervises (they may take any): in a language they
    serve, and either handed over to their role (`wanted_role`, whatever the topic: an OST
    question transferred to "lawyer" must reach a lawyer who takes only "legal") or, if not
    handed over to a role, in a topic they serve."""
    conditions: list[ColumnElement[bool]] = [c.status == WAITING]
    if not member.supervising:
        conditions += [
            c.language.in_(member.languages),
            or_(
                c.wanted_role == member.role,
                and_(c.wanted_role.is_(None), c.topic.in_(member.topics)),
            ),
        ]
    return conditions


def _held_by(member: _Member) -> list[ColumnElement[bool]]:
    """Active and this member's (supervisors may act on anyone's active conversation)."""
    conditions: list[ColumnElement[bool]] = [Conversation.status == ACTIVE]
    if not member.supervising:
        conditions.append(Conversation.staff_id == member.id)
    return conditions


async def _member(
    session: AsyncSession, staff_id: int, *, lock: bool = False, action: str = "answer"
) -> _Member:
    """An active staff member whose role may do `action` (bot/permissions.py: the second
    check, behind the front door's); NotAllowed otherwise.

    `lock` serialises this member's takes until commit, so `max_active` holds even when they
    press two "take" buttons at once. PostgreSQL: a row lock (NO KEY, so rows that merely
    reference this member are not blocked). SQLite has no row locks, and the driver only
    begins a transaction at the first write, so a no-op UPDATE takes the database write lock
    and everything after it reads under that lock.
    """
    query = select(
        Staff.id, Staff.role, Staff.languages, Staff.topics, Staff.max_active, Staff.active
    ).where(Staff.id == staff_id)
    if lock:
        if _is_postgres(session):
            query = query.with_for_update(key_share=True)
        else:
            await session.execute(
                update(Staff).where(Staff.id == staff_id).values(max_active=Staff.max_active),
                execution_options=_NO_SYNC,
            )
    row = (await session.execute(query)).one_or_none()
    if row is None or not row.active:
        raise NotAllowed(f"no active staff member {staff_id}")
    if not permissions.allowed(permissions.roles_of(row.role), action):
        raise NotAllowed(f"a {row.role} may not {action}")
    return _Member(
        id=row.id,
        role=row.role,
        languages=row.languages,
        topics=row.topics,
        max_active=row.max_active,
    )


async def _lock_client(session: AsyncSession, client_id: int) -> bool:
    """Serialise changes to one client's conversations until commit (see `_member`).

    Without it, a double tap on "ask a human" could open two conversations. False if the
    client does not exist.
    """
    if _is_postgres(session):
        query = select(Client.id).where(Client.id == client_id).with_for_update(key_share=True)
        return await session.scalar(query) is not None
    result = await session.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(pseudonym=Client.pseudonym)
        .returning(Client.id),
        execution_options=_NO_SYNC,
    )
    return result.scalar_one_or_none() is not None


async def _active_count(session: AsyncSession, staff_id: int) -> int:
    query = select(func.count()).where(
        Conversation.staff_id == staff_id, Conversation.status == ACTIVE
    )
    return int(await session.scalar(query) or 0)


async def _transition(
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
        execution_options=_NO_SYNC,
    )
    return result.scalar_one_or_none() is not None


async def _clear_current(session: AsyncSession, conversation_id: int) -> None:
    # `Staff.current_conversation_id` is kept up to date but routes nothing any more: a
    # consultant's message goes by reply, or to their only conversation, else they are asked
    # (handlers/staff_common.find_target; issue 10). Kept to avoid a migration.
    await session.execute(
        update(Staff)
        .where(Staff.current_conversation_id == conversation_id)
        .values(current_conversation_id=None),
        execution_options=_NO_SYNC,
    )


async def _set_current(
    session: AsyncSession, staff_id: int, conversation_id: int, *, only_if_free: bool = False
) -> None:
    query = update(Staff).where(Staff.id == staff_id)
    if only_if_free:
        query = query.where(Staff.current_conversation_id.is_(None))
    await session.execute(
        query.values(current_conversation_id=conversation_id), execution_options=_NO_SYNC
    )


# --- Clients -------------------------------------------------------------------------------


async def ensure_pseudonym(session: AsyncSession, client_id: int) -> str:
    """The client's stable pseudonym (a random word-based code, bot/services/pseudonyms.py),
    assigned on first need; older clients keep their six digits.

    Random, not sequential: a counter would tell staff how many people wrote and in which
    order. The conditional UPDATE skips a value someone already has; the unique constraint
    stays the backstop for two processes picking the same value at the same instant.
    """
    taken = aliased(Client)
    for attempt in range(_PSEUDONYM_ATTEMPTS):
        row = (
            await session.execute(select(Client.pseudonym).where(Client.id == client_id))
        ).one_or_none()
        if row is None:
            raise LookupError(f"no client {client_id}")
        if row.pseudonym:
            return row.pseudonym
        candidate = pseudonyms.draw(attempt)
        result = await session.execute(
            update(Client)
            .where(
                Client.id == client_id,
                Client.pseudonym.is_(None),
                ~exists().where(taken.pseudonym == candidate),
            )
            .values(pseudonym=candidate)
            .returning(Client.id),
            execution_options=_NO_SYNC,
        )
        if result.scalar_one_or_none() is not None:
            return candidate
        # A collision, or another transaction named this client meanwhile: look again.
    raise RuntimeError(f"no free pseudonym after {_PSEUDONYM_ATTEMPTS} attempts")


async def open_conversation(
    session: AsyncSession,
    *,
    client_id: int,
    topic: str,
    language: str,
    country: str,
    urgent: bool = False,
    kind: str = "consult",
) -> ConversationView:
    """Put the client's request in the queue. AlreadyOpen if they have one waiting or active.

    `previous_id` points at their most recent closed conversation, so whoever takes this one
    can look at the history.
    """
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if not await _lock_client(session, client_id):
        raise LookupError(f"no client {client_id}")
    existing = await open_for_client(session, client_id)
    if existing is not None:
        raise AlreadyOpen(existing)
    await ensure_pseudonym(session, client_id)
    # One open conversation at a time means the newest closed one is the last one closed.
    previous_id = await session.scalar(
        select(Conversation.id)
        .where(Conversation.client_id == client_id, Conversation.status == CLOSED)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    row = Conversation(
        client_id=client_id,
        kind=kind,
        status=WAITING,
        topic=topic,
        language=language,
        country=country,
        urgent=urgent,
        previous_id=previous_id,
        created_at=_now(),
    )
    session.add(row)
    await session.flush()
    return await _get_view(session, row.id)


async def escalate(session: AsyncSession, conversation_id: int) -> ConversationView | None:
    """Make an open conversation urgent (a crisis in the client's words, or their own
    button); the conversation if it changed, None if it was urgent already or is closed."""
    changed = await _transition(
        session,
        conversation_id,
        [Conversation.status.in_(OPEN_STATUSES), Conversation.urgent.is_(False)],
        {"urgent": True},
    )
    return await _get_view(session, conversation_id) if changed else None


async def get(session: AsyncSession, conversation_id: int) -> ConversationView | None:
    """A conversation by id, whatever its status."""
    row = (await session.execute(_views().where(Conversation.id == conversation_id))).one_or_none()
    return _view(row) if row else None


async def set_language(
    session: AsyncSession, conversation_id: int, language: str
) -> ConversationView | None:
    """Re-target a waiting conversation to consultants of another language (the client
    agreed to it); None if it is no longer waiting."""
    changed = await _transition(
        session,
        conversation_id,
        [Conversation.status == WAITING],
        {"language": language},
    )
    return await _get_view(session, conversation_id) if changed else None


async def open_for_client(session: AsyncSession, client_id: int) -> ConversationView | None:
    """The client's waiting or active conversation, if any."""
    row = (
        await session.execute(
            _views()
            .where(
                Conversation.client_id == client_id,
                Conversation.status.in_(OPEN_STATUSES),
            )
            .order_by(Conversation.id.desc())
            .limit(1)
        )
    ).one_or_none()
    return _view(row) if row else None


async def queue_position(session: AsyncSession, conversation_id: int) -> int | None:
    """1-based place among all waiting conversations, in the order they are taken;
    None if this one is not waiting."""
    ranked = (
        select(
            Conversation.id,
            func.row_number().over(order_by=_queue_order(Conversation)).label("position"),
        )
        .where(Conversation.status == WAITING)
        .subquery()
    )
    position = await session.scalar(select(ranked.c.position).where(ranked.c.id == conversation_id))
    return int(position) if position is not None else None


async def wait_estimate_minutes(session: AsyncSession, conversation_id: int) -> int | None:
    """Roughly how long until someone takes it: the median wait of the last 50 takes, times
    the queue position, shared among the staff on duty (they work in parallel).

    None if it is not waiting or nobody has ever been taken (better no promise than a
    made-up one). Rounded up: telling someone in crisis "0 minutes" and then making them
    wait is worse than the other way round.
    """
    position = await queue_position(session, conversation_id)
    if position is None:
        return None
    rows = (
        await session.execute(
            select(Conversation.created_at, Conversation.taken_at)
            .where(Conversation.taken_at.is_not(None))
            .order_by(Conversation.taken_at.desc(), Conversation.id.desc())
            .limit(WAIT_HISTORY)
        )
    ).all()
    if not rows:
        return None
    median = statistics.median(
        max(0.0, (_utc(taken) - _utc(created)).total_seconds())  # type: ignore[operator]
        for created, taken in rows
    )
    on_duty = await session.scalar(
        select(func.count()).select_from(Staff).where(Staff.on_duty, Staff.active)
    )
    return math.ceil(median * position / max(1, on_duty or 0) / 60)


# --- Staff ---------------------------------------------------------------------------------


async def waiting_for(
    session: AsyncSession, staff_id: int, limit: int = 20
) -> list[ConversationView]:
    """Waiting conversations this member may take, urgent first, then oldest."""
    member = await _member(session, staff_id, action="queue")
    rows = await session.execute(
        _views()
        .where(*_takeable(Conversation, member))
        .order_by(*_queue_order(Conversation))
        .limit(limit)
    )
    return [_view(row) for row in rows]


async def take(
    session: AsyncSession, staff_id: int, conversation_id: int | None = None
) -> ConversationView | None:
    """Claim a conversation: this one (if still waiting and allowed), or the next that fits.

    None if someone else got it first or nothing fits; AtCapacity if the member already has
    `max_active` active conversations. The claimed one becomes their current conversation.
    """
    member = await _member(session, staff_id, lock=True, action="take")
    if await _active_count(session, staff_id) >= member.max_active:
        raise AtCapacity(staff_id, member.max_active)
    now = _now()
    target: Any
    if _is_postgres(session):
        # Lock the row we want; a row another taker holds is skipped, not waited for. NO KEY
        # UPDATE still lets a client's message (a row referencing this one) be recorded.
        target = None
        for urgent in (True, False):
            pick = _next_waiting(Conversation, member, urgent, conversation_id)
            target = await session.scalar(pick.with_for_update(skip_locked=True, key_share=True))
            if target is not None:
                break
        if target is None:
            return None
        conditions: list[ColumnElement[bool]] = [Conversation.status == WAITING]
    elif conversation_id is not None:
        target = conversation_id
        conditions = _takeable(Conversation, member)
    else:
        # SQLite: choose and claim in one statement; the write lock makes it atomic.
        urgent_first, then_oldest = aliased(Conversation), aliased(Conversation)
        target = func.coalesce(
            _next_waiting(urgent_first, member, True, None).scalar_subquery(),
            _next_waiting(then_oldest, member, False, None).scalar_subquery(),
        )
        conditions = [Conversation.status == WAITING]
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == target, *conditions)
        .values(
            status=ACTIVE,
            staff_id=staff_id,
            wanted_role=None,  # whoever takes it now holds it; a release is a plain one
            # The first take is when the client first got a human; a release keeps it, so
            # reports and the wait estimate measure the first answer, not the last hand-over.
            taken_at=func.coalesce(Conversation.taken_at, literal(now, DateTime(timezone=True))),
        )
        .returning(Conversation.id),
        execution_options=_NO_SYNC,
    )
    taken = result.scalar_one_or_none()
    if taken is None:
        return None
    await _set_current(session, staff_id, taken)
    await audit(session, staff_id, "take", taken)
    return await _get_view(session, taken)


async def release(session: AsyncSession, staff_id: int, conversation_id: int) -> ConversationView:
    """Put an active conversation back in the queue, at its old place (its age counts).

    NotAllowed unless it is active and this member's (supervisors: anyone's).
    """
    member = await _member(session, staff_id)
    if not await _transition(
        session, conversation_id, _held_by(member), {"status": WAITING, "staff_id": None}
    ):
        raise NotAllowed(f"conversation {conversation_id} is not active for staff {staff_id}")
    await _clear_current(session, conversation_id)
    await audit(session, staff_id, "release", conversation_id)
    return await _get_view(session, conversation_id)


async def transfer(
    session: AsyncSession,
    staff_id: int,
    conversation_id: int,
    *,
    to_staff_id: int | None = None,
    to_role: str | None = None,
) -> ConversationView:
    """Hand an active conversation over: to a person (stays active, now theirs) or to a role
    (back to waiting with `wanted_role` set: only members of that role may take it, and
    supervisors; see `_takeable`).

    NotAllowed unless it is active and this member's (supervisors: anyone's), or the target
    person is unknown/removed or already holds it; AtCapacity if the target person is full.
    """
    if (to_staff_id is None) == (to_role is None):
        raise ValueError("transfer to exactly one of to_staff_id or to_role")
    member = await _member(session, staff_id)
    conditions = _held_by(member)
    if to_role is not None:
        if to_role not in ROLES:
            raise ValueError(f"unknown role {to_role!r}")
        values: dict[str, Any] = {"status": WAITING, "staff_id": None, "wanted_role": to_role}
        detail = f"role:{to_role}"
    else:
        assert to_staff_id is not None
        target = await _member(session, to_staff_id, lock=True)
        if await _active_count(session, to_staff_id) >= target.max_active:
            raise AtCapacity(to_staff_id, target.max_active)
        conditions.append(Conversation.staff_id != to_staff_id)
        values = {"staff_id": to_staff_id}
        detail = f"staff:{to_staff_id}"
    if not await _transition(session, conversation_id, conditions, values):
        raise NotAllowed(f"staff {staff_id} cannot transfer conversation {conversation_id}")
    await _clear_current(session, conversation_id)
    if to_staff_id is not None:
        # Only if they are not in the middle of another conversation: their next message
        # must not silently go to a client they have not seen yet.
        await _set_current(session, to_staff_id, conversation_id, only_if_free=True)
    await audit(session, staff_id, "transfer", conversation_id, detail)
    return await _get_view(session, conversation_id)


async def close(
    session: AsyncSession,
    conversation_id: int,
    *,
    staff_id: int | None = None,
    outcome: str | None,
) -> ConversationView:
    """End a conversation.

    A staff member must give an outcome from OUTCOMES (reports count them) and may close only
    an active conversation of theirs (supervisors: any open one). Without `staff_id` it is
    the client ending their own waiting or active request, normally with `outcome=None`.
    NotAllowed if it is not open (closed already, e.g. by the other side) or not theirs.
    """
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    conditions: list[ColumnElement[bool]] = [Conversation.status.in_(OPEN_STATUSES)]
    if staff_id is not None:
        if outcome is None:
            raise ValueError("a staff member closes with an outcome")
        member = await _member(session, staff_id)
        if not member.supervising:
            conditions = _held_by(member)
    values = {"status": CLOSED, "closed_at": _now(), "outcome": outcome}
    if not await _transition(session, conversation_id, conditions, values):
        raise NotAllowed(f"conversation {conversation_id} cannot be closed by this caller")
    await _clear_current(session, conversation_id)
    await audit(session, staff_id, "close", conversation_id, outcome)
    return await _get_view(session, conversation_id)


async def set_outcome_detail(
    session: AsyncSession, staff_id: int, conversation_id: int, detail: str | None
) -> bool:
    """Record a detail for the report of an active conversation this member holds
    (supervisors: anyone's), e.g. the service type a client was referred to; `close` keeps
    it. False if the conversation is not active and theirs (any more).
    """
    if detail is not None and len(detail) > 24:  # Conversation.outcome_detail is String(24)
        raise ValueError(f"outcome detail too long: {detail!r}")
    member = await _member(session, staff_id)
    return await _transition(session, conversation_id, _held_by(member), {"outcome_detail": detail})


async def notes(session: AsyncSession, keys: Keys, conversation_id: int) -> list[NoteView]:
    """The staff notes on a conversation, oldest first (decrypted; for staff eyes only).

    Notes are messages with author "note": recorded like any message, never relayed.
    """
    rows = await session.execute(
        select(
            Message.id,
            Message.conversation_id,
            Message.staff_id,
            Staff.display_name,
            Message.body,
            Message.created_at,
        )
        .outerjoin(Staff, Staff.id == Message.staff_id)
        .where(Message.conversation_id == conversation_id, Message.author == "note")
        .order_by(Message.id)
    )
    return [
        NoteView(
            id=row.id,
            conversation_id=row.conversation_id,
            staff_id=row.staff_id,
            author=row.display_name,
            text=keys.decrypt(row.body, purpose=MESSAGE_PURPOSE).decode() if row.body else "",
            created_at=_utc(row.created_at),  # type: ignore[arg-type]
        )
        for row in rows
    ]


async def active_for_staff(session: AsyncSession, staff_id: int) -> list[ConversationView]:
    """The member's active conversations, in the order they took them."""
    rows = await session.execute(
        _views()
        .where(Conversation.staff_id == staff_id, Conversation.status == ACTIVE)
        .order_by(Conversation.taken_at, Conversation.id)
    )
    return [_view(row) for row in rows]


async def history(
    session: AsyncSession, conversation_id: int, staff_id: int, limit: int = 20
) -> list[ConversationView]:
    """The same client's earlier closed conversations, newest first. Audited.

    Only for the member holding the conversation now (supervisors: any), so knowing an id
    is not enough to browse someone's past.
    """
    member = await _member(session, staff_id)
    query = select(Conversation.client_id).where(Conversation.id == conversation_id)
    if not member.supervising:
        query = query.where(*_held_by(member))
    client_id = await session.scalar(query)
    if client_id is None:
        raise NotAllowed(f"staff {staff_id} may not see the history of {conversation_id}")
    rows = await session.execute(
        _views()
        .where(
            Conversation.client_id == client_id,
            Conversation.status == CLOSED,
            Conversation.id < conversation_id,
        )
        .order_by(Conversation.id.desc())
        .limit(limit)
    )
    earlier = [_view(row) for row in rows]
    await audit(session, staff_id, "history", conversation_id)
    return earlier


async def rate(session: AsyncSession, conversation_id: int, client_id: int, rating: int) -> bool:
    """Record the client's 1-5 rating of their own closed conversation, once.

    False (nothing stored) for anything else: out of range, not theirs, not closed, rated.
    """
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        return False
    return await _transition(
        session,
        conversation_id,
        [
            Conversation.client_id == client_id,
            Conversation.status == CLOSED,
            Conversation.rating.is_(None),
        ],
        {"rating": rating},
    )


async def add_rating_comment(
    session: AsyncSession, keys: Keys, conversation_id: int, client_id: int, comment: str
) -> bool:
    """The optional comment after a rating (encrypted; deleted with the retention purge)."""
    blob = keys.encrypt_text(comment[:COMMENT_MAX], purpose=b"rating-comment")
    return await _transition(
        session,
        conversation_id,
        [
            Conversation.client_id == client_id,
            Conversation.status == CLOSED,
            Conversation.rating.is_not(None),
            Conversation.rating_comment.is_(None),
        ],
        {"rating_comment": blob},
    )


async def set_forum_topic(session: AsyncSession, conversation_id: int, topic_id: int) -> None:
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(forum_topic_id=topic_id)
    )


async def forum_topic_of(session: AsyncSession, conversation_id: int) -> int | None:
    return await session.scalar(
        select(Conversation.forum_topic_id).where(Conversation.id == conversation_id)
    )


async def by_forum_topic(session: AsyncSession, topic_id: int) -> ConversationView | None:
    """The open conversation a staff-group topic belongs to."""
    row = (
        await session.execute(
            _views().where(
                Conversation.forum_topic_id == topic_id, Conversation.status.in_(OPEN_STATUSES)
            )
        )
    ).one_or_none()
    return _view(row) if row else None


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
