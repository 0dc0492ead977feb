"""Who is writing: resolved once per update by the front door (handlers/door.py).

One short transaction answers everything the flows used to look up again and again: the
client row, the staff row, the client's open conversation and what their next message
means. Nothing here creates a client: a first contact gets its row when a flow needs one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import RowMapping, Table, and_, bindparam, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import permissions
from bot.awaiting import Input
from bot.crypto import Keys
from bot.models import Client, Conversation, Staff
from bot.services import clients, queue, staff, traces
from bot.services.clients import ClientState
from bot.services.queue import ConversationView
from bot.services.staff import StaffView


@dataclass(frozen=True)
class Visitor:
    client: ClientState | None  # None: no client row yet (first contact, or staff only)
    staff: StaffView | None  # None: not (active) staff
    conversation: ConversationView | None  # the client's waiting or active conversation
    roles: frozenset[permissions.Role]

    @property
    def awaiting(self) -> Input | None:
        """The input they started and that has not lapsed; a staff input wins, since staff
        start theirs on purpose from a staff screen."""
        if self.staff is not None and self.staff.awaiting is not None:
            return self.staff.awaiting
        return self.client.awaiting if self.client is not None else None

    @property
    def lapsed(self) -> Input | None:
        """An input that ran out unfinished (cleared by `clear_lapsed`; the person is told)."""
        if self.staff is not None and self.staff.lapsed is not None:
            return self.staff.lapsed
        return self.client.lapsed if self.client is not None else None

    def with_client(self, client: ClientState | None) -> Visitor:
        return replace(self, client=client)


# One statement for all three (this runs for every update): one row, each part NULL when the
# person is not staff, has no client row yet, or has no open conversation. Built once, with
# the two keys as parameters: building it per update cost more CPU than running it. Plain
# columns, not ORM entities: loading three entities cost more than the query (bench/README.md).
_STAFF, _CLIENT, _CONVERSATION = (
    cast(Table, model.__table__) for model in (Staff, Client, Conversation)
)
_PARTS = (("s_", _STAFF), ("c_", _CLIENT), ("v_", _CONVERSATION))
_WHO = (
    select(*(column.label(prefix + column.key) for prefix, table in _PARTS for column in table.c))
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(_STAFF, and_(_STAFF.c.key == bindparam("staff_key"), _STAFF.c.active.is_(True)))
    .outerjoin(_CLIENT, _CLIENT.c.key == bindparam("client_key"))
    .outerjoin(
        _CONVERSATION,
        and_(
            _CONVERSATION.c.client_id == _CLIENT.c.id,
            _CONVERSATION.c.status.in_(queue.OPEN_STATUSES),
        ),
    )
    .order_by(_CONVERSATION.c.id.desc())
    .limit(1)
)


def _part(row: RowMapping, prefix: str, table: Table) -> Any:
    """One table's columns of the row, read as the row's attributes; None for a NULL part."""
    if row[prefix + "id"] is None:
        return None
    return SimpleNamespace(**{column.key: row[prefix + column.key] for column in table.c})


async def resolve(
    session: AsyncSession,
    keys: Keys,
    telegram_id: int,
    *,
    bootstrap_admin: bool = False,
    incoming_message_id: int | None = None,
    private_chat_id: int | None = None,
) -> Visitor:
    """Who is writing; `incoming_message_id` (a message in their private chat) is recorded
    for /hide in the same transaction (bot/services/traces.py); `private_chat_id` (when they
    write from their private chat) repairs a client's stored chat if it is another one."""
    client_key = keys.client_key(telegram_id)
    if incoming_message_id is not None:
        await traces.record(session, client_key, [incoming_message_id])
    parameters = {"staff_key": keys.staff_key(telegram_id), "client_key": client_key}
    row = (await session.execute(_WHO, parameters)).mappings().one()
    staff_row, client_row, conversation_row = (_part(row, *part) for part in _PARTS)
    member = staff.view_of(staff_row) if staff_row is not None else None
    if client_row is not None and private_chat_id is not None:
        await clients.repair_chat(session, keys, client_row, private_chat_id)
    client = clients.state_of(client_row) if client_row is not None else None
    conversation = (
        queue.view_of(conversation_row, client_row.pseudonym)
        if conversation_row is not None and client_row is not None
        else None
    )
    roles = permissions.roles_of(member.role if member else None, bootstrap_admin=bootstrap_admin)
    return Visitor(client=client, staff=member, conversation=conversation, roles=roles)


async def clear_input(session: AsyncSession, visitor: Visitor) -> Visitor:
    """Forget any input the person started or let lapse (taking a conversation, /start,
    /cancel, a lapse): their next message means what it says again."""
    no_input = {"awaiting": None, "awaiting_until": None}
    options = {"synchronize_session": False}
    if visitor.client is not None:
        await session.execute(
            update(Client).where(Client.id == visitor.client.id).values(**no_input),
            execution_options=options,
        )
    if visitor.staff is not None:
        await session.execute(
            update(Staff).where(Staff.id == visitor.staff.id).values(**no_input),
            execution_options=options,
        )
    return replace(
        visitor,
        client=replace(visitor.client, awaiting=None, lapsed=None) if visitor.client else None,
        staff=replace(visitor.staff, awaiting=None, lapsed=None) if visitor.staff else None,
    )
