"""Abuse limits (shared/SECURITY.md): a per-client flood limit, and blocks by staff.

The flood counter lives on the client row, so every bot process counts the same messages:
one conditional UPDATE starts a new window or adds to the current one, and its RETURNING
says where this message falls. Two processes counting at once are serialised by the row
(PostgreSQL re-reads the updated row; SQLite has one writer), so none is lost or doubled.

A block is a row per decision, with the reason encrypted (it may quote the client). Two
consultants blocking one client at the same moment leave two rows; that is harmless: a client
is blocked while any row is not lifted, and lifting lifts them all.

Functions flush but never commit, like the queue's. Audit entries never carry the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, bindparam, case, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Block, Client, Staff
from bot.services.queue import SUPERVISING_ROLES, audit

FLOOD_LIMIT = 20  # messages a client may send ...
FLOOD_WINDOW_SECONDS = 60  # ... in this many seconds
BLOCK_PURPOSE = b"block"

# Our UPDATEs carry their own conditions; the ORM must not try to evaluate them in Python.
_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class FloodVerdict:
    allowed: bool  # record and relay this message
    warn: bool  # the first refused message of its window: tell the client, once


@dataclass(frozen=True)
class BlockView:
    client_id: int
    pseudonym: str | None
    staff_id: int | None  # who blocked (None if that member was deleted)
    created_at: datetime
    reason: bytes | None  # encrypted; `decrypt_reason` for whoever may read it


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    # SQLite stores no offset and compares text, so every stamp must be UTC; naive = UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- Flood limit ---------------------------------------------------------------------------


async def count_message(
    session: AsyncSession,
    client_id: int,
    *,
    now: datetime | None = None,
    limit: int = FLOOD_LIMIT,
    window_seconds: int = FLOOD_WINDOW_SECONDS,
) -> FloodVerdict:
    """Count one message (or request) from the client against the flood limit.

    The first `limit` in a window are allowed; the next one is refused with `warn`, the rest
    silently, until the window (which starts at the first message) has passed. LookupError
    for an unknown client.
    """
    verdict, _blocked = await count_and_check(
        session, client_id, now=now, limit=limit, window_seconds=window_seconds
    )
    return verdict


async def count_and_check(
    session: AsyncSession,
    client_id: int,
    *,
    now: datetime | None = None,
    limit: int = FLOOD_LIMIT,
    window_seconds: int = FLOOD_WINDOW_SECONDS,
) -> tuple[FloodVerdict, bool]:
    """`count_message`, and whether the client is blocked (`is_blocked`), in one statement:
    this runs for every message a client sends."""
    if limit < 1 or window_seconds <= 0:
        raise ValueError("the flood limit and its window must be positive")
    now = _utc(now or _now())
    parameters = {
        "client": client_id,
        "now": now,
        "window_start": now - timedelta(seconds=window_seconds),
    }
    row = (await session.execute(_FLOOD, parameters, execution_options=_NO_SYNC)).one_or_none()
    if row is None:
        raise LookupError(f"no client {client_id}")
    count, blocked = row
    return FloodVerdict(allowed=count <= limit, warn=count == limit + 1), bool(blocked)


# Built once, with parameters (building it per message cost more CPU than running it).
# Both CASEs see the row as it was before this UPDATE (SQL semantics on both databases).
_EXPIRED = or_(
    Client.flood_window_start.is_(None),
    Client.flood_window_start <= bindparam("window_start"),
)
_FLOOD = (
    update(Client)
    .where(Client.id == bindparam("client"))
    .values(
        flood_window_start=case(
            (_EXPIRED, bindparam("now", type_=DateTime(timezone=True))),
            else_=Client.flood_window_start,
        ),
        flood_count=case((_EXPIRED, 1), else_=Client.flood_count + 1),
    )
    .returning(
        Client.flood_count,
        exists()
        .where(Block.client_id == bindparam("client"), Block.lifted_at.is_(None))
        .label("blocked"),
    )
)


# --- Blocks --------------------------------------------------------------------------------


async def _check_staff(session: AsyncSession, staff_id: int | None, *, supervise: bool) -> None:
    """None is the CLI (trusted); anyone else must be active staff, supervising if asked."""
    if staff_id is None:
        return
    role = await session.scalar(
        select(Staff.role).where(Staff.id == staff_id, Staff.active.is_(True))
    )
    if role is None or (supervise and role not in SUPERVISING_ROLES):
        raise PermissionError(f"staff {staff_id} may not do this")


async def block(
    session: AsyncSession,
    *,
    client_id: int,
    staff_id: int | None,
    reason: str,
    keys: Keys,
    conversation_id: int | None = None,
) -> None:
    """Block a client; any active staff member may. Their open conversation is the caller's
    to close. ValueError without a reason, LookupError for an unknown client,
    PermissionError if `staff_id` is not active staff."""
    if not reason or not reason.strip():
        raise ValueError("a block needs a reason")
    await _check_staff(session, staff_id, supervise=False)
    if await session.scalar(select(Client.id).where(Client.id == client_id)) is None:
        raise LookupError(f"no client {client_id}")
    row = Block(
        client_id=client_id,
        staff_id=staff_id,
        reason=keys.encrypt_text(reason.strip(), purpose=BLOCK_PURPOSE),
        created_at=_now(),
    )
    session.add(row)
    await session.flush()
    await audit(session, staff_id, "block", conversation_id, f"client={client_id} block={row.id}")


async def is_blocked(session: AsyncSession, client_id: int) -> bool:
    return bool(
        await session.scalar(
            select(exists().where(Block.client_id == client_id, Block.lifted_at.is_(None)))
        )
    )


async def unblock(session: AsyncSession, *, pseudonym: str, staff_id: int | None) -> bool:
    """Lift the block on the client with this pseudonym (supervisors and admins only, else
    PermissionError). False if nobody with this pseudonym is blocked."""
    await _check_staff(session, staff_id, supervise=True)
    client_id = await session.scalar(select(Client.id).where(Client.pseudonym == pseudonym.strip()))
    if client_id is None:
        return False
    lifted = await session.execute(
        update(Block)
        .where(Block.client_id == client_id, Block.lifted_at.is_(None))
        .values(lifted_at=_now())
        .returning(Block.id),
        execution_options=_NO_SYNC,
    )
    if not lifted.scalars().all():
        return False
    await audit(session, staff_id, "unblock", None, f"client={client_id}")
    return True


async def list_blocks(session: AsyncSession) -> list[BlockView]:
    """Blocked clients, longest blocked first; one entry each (their first standing block)."""
    rows = await session.execute(
        select(Block.client_id, Client.pseudonym, Block.staff_id, Block.created_at, Block.reason)
        .join(Client, Client.id == Block.client_id)
        .where(Block.lifted_at.is_(None))
        .order_by(Block.created_at, Block.id)
    )
    views: dict[int, BlockView] = {}
    for row in rows:
        if row.client_id not in views:
            values = dict(row._mapping)
            values["created_at"] = _utc(values["created_at"])
            views[row.client_id] = BlockView(**values)
    return list(views.values())


def decrypt_reason(keys: Keys, reason: bytes | None) -> str | None:
    """A block's reason in clear, for someone entitled to read it (it may quote the client)."""
    return keys.decrypt(reason, purpose=BLOCK_PURPOSE).decode("utf-8") if reason else None
