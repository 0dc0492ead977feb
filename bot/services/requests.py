"""A client's request: opening it (one open conversation per client, under a stable
pseudonym), making it urgent, and re-targeting it to consultants of another language."""

from __future__ import annotations

from sqlalchemy import (
    exists,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.models import Client, Conversation
from bot.services import pseudonyms
from bot.services.queue_base import (
    CLOSED,
    KINDS,
    NO_SYNC,
    OPEN_STATUSES,
    TOPICS,
    WAITING,
    AlreadyOpen,
    ConversationView,
    get_view,
    now,
    open_for_client,
    transition,
)
from bot.services.queue_guards import (
    lock_client,
)

# Re-exported: the vocabulary callers know as `queue.ACTIVE`, `queue.NotAllowed`, ...
_PSEUDONYM_ATTEMPTS = 20


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
            execution_options=NO_SYNC,
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
    if not await lock_client(session, client_id):
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
        created_at=now(),
    )
    session.add(row)
    await session.flush()
    return await get_view(session, row.id)


async def escalate(session: AsyncSession, conversation_id: int) -> ConversationView | None:
    """Make an open conversation urgent (a crisis in the client's words, or their own
    button); the conversation if it changed, None if it was urgent already or is closed."""
    changed = await transition(
        session,
        conversation_id,
        [Conversation.status.in_(OPEN_STATUSES), Conversation.urgent.is_(False)],
        {"urgent": True},
    )
    return await get_view(session, conversation_id) if changed else None


async def set_language(
    session: AsyncSession, conversation_id: int, language: str
) -> ConversationView | None:
    """Re-target a waiting conversation to consultants of another language (the client
    agreed to it); None if it is no longer waiting."""
    changed = await transition(
        session,
        conversation_id,
        [Conversation.status == WAITING],
        {"language": language},
    )
    return await get_view(session, conversation_id) if changed else None
