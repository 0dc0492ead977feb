"""Where a client's message in their open conversation goes: the conversation, its holder and
their chat, and whether a supervisor reads along, in one statement (the hot path of a client
writing to a consultant: handlers/consult.py). Who reads along is bot/services/desk.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import and_, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Client, Conversation, SilentJoin, Staff
from bot.services import queue, staff
from bot.services.queue import ConversationView
from bot.services.queue_base import VIEW_COLUMNS, view_of_values
from bot.services.staff import StaffView


@dataclass(frozen=True)
class MessageTarget:
    """Where a client's message in their open conversation goes, read in one statement."""

    conversation: ConversationView
    holder: tuple[StaffView, bytes] | None  # active: the holder and their encrypted chat
    read_along: bool  # someone has joined it silently (`desk.joiners` says who may read)


# The client's open conversation (as queue.open_for_client), the row of its holder while
# active (as staff.get and staff.chat_ref) and whether any silent join exists: built once.
_TARGET = (
    select(
        *VIEW_COLUMNS,
        Staff,
        exists()
        .where(SilentJoin.conversation_id == Conversation.id)
        .correlate(Conversation)
        .label("read_along"),
    )
    .join(Client, Client.id == Conversation.client_id)
    .outerjoin(Staff, and_(Staff.id == Conversation.staff_id, Conversation.status == queue.ACTIVE))
    .where(
        Conversation.client_id == bindparam("client"),
        Conversation.status.in_(queue.OPEN_STATUSES),
    )
    .order_by(Conversation.id.desc())
    .limit(1)
    .execution_options(populate_existing=True)
)


async def of_client(session: AsyncSession, client_id: int) -> MessageTarget | None:
    """The client's waiting or active conversation, its holder and whether anyone reads
    along, or None. StaffError if an active conversation's holder has no row."""
    row = (await session.execute(_TARGET, {"client": client_id})).one_or_none()
    if row is None:
        return None
    columns = len(VIEW_COLUMNS)
    conversation = view_of_values(
        dict(zip((column.key for column in VIEW_COLUMNS), row[:columns], strict=True))
    )
    member = cast("Staff | None", row[columns])
    read_along = row[columns + 1]
    holder = None
    if conversation.status == queue.ACTIVE and conversation.staff_id is not None:
        if member is None:
            raise staff.StaffError(f"no staff member with id {conversation.staff_id}")
        holder = (staff.view_of(member), member.chat_ref)
    return MessageTarget(conversation=conversation, holder=holder, read_along=bool(read_along))
