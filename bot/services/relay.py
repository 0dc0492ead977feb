"""Inbox and relay rules: record a message first, then queue its delivery to the other side.

Record first, then act (shared/DESIGN.md): the message row (body encrypted, unique update_id)
and its outbox rows are written in one transaction, so a crash never loses an accepted
message and a redelivered update is a no-op. Delivery happens later, in the outbox worker.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Message
from bot.services import outbox

# Kinds Telegram lets us copy with a caption of our own; the others get a header line first.
CAPTIONED = {"photo", "video", "document", "audio", "voice", "animation"}
KINDS = CAPTIONED | {"text", "sticker", "video_note"}
MESSAGE_PURPOSE = b"message"


@dataclass(frozen=True)
class Incoming:
    """A Telegram message as plain values."""

    update_id: int
    kind: str
    text: str | None  # the text, or a media caption
    source_message_id: int
    chat_id: int  # the sender's chat, to copy from (never stored in clear)


async def record(
    session: AsyncSession,
    keys: Keys,
    *,
    conversation_id: int,
    author: str,
    incoming: Incoming,
    staff_id: int | None = None,
) -> int | None:
    """Store the message; None when this update was already recorded (a redelivery)."""
    body = keys.encrypt(incoming.text.encode(), purpose=MESSAGE_PURPOSE) if incoming.text else None
    row = Message(
        conversation_id=conversation_id,
        update_id=incoming.update_id,
        author=author,
        staff_id=staff_id,
        kind=incoming.kind,
        body=body,
        source_message_id=incoming.source_message_id,
    )
    try:
        async with session.begin_nested():  # a savepoint, so a duplicate keeps the transaction
            session.add(row)
            await session.flush()
    except IntegrityError:
        return None
    return row.id


async def to_staff(
    session: AsyncSession,
    keys: Keys,
    *,
    message_id: int,
    incoming: Incoming,
    staff_id: int,
    staff_chat_ref: bytes,
    header: str,
    recipient: str | None = None,
    thread_id: int | None = None,
    protect_content: bool = True,
) -> None:
    """Queue a client's message for their consultant, headed by the client's pseudonym
    (or, with `recipient` and `thread_id`, into a staff-group topic). Protected by default,
    so a consultant's phone cannot forward or save what clients wrote."""
    recipient = recipient or f"staff:{staff_id}"
    text = html.escape(incoming.text or "", quote=False)
    common = {"chat_ref": staff_chat_ref, "recipient": recipient, "message_id": message_id}
    extra: dict[str, object] = {"message_thread_id": thread_id} if thread_id else {}
    if protect_content:
        extra["protect_content"] = True
    if incoming.kind == "text":
        params = {"text": f"{header}\n{text}", "parse_mode": "HTML", **extra}
        await outbox.enqueue(session, keys, method="sendMessage", params=params, **common)
        return
    copy = {"from_chat_id": incoming.chat_id, "message_id": incoming.source_message_id, **extra}
    if incoming.kind in CAPTIONED:
        copy |= {"caption": f"{header}\n{text}".strip(), "parse_mode": "HTML"}
    else:  # stickers and video notes take no caption
        header_params = {"text": header, "parse_mode": "HTML", **extra}
        await outbox.enqueue(session, keys, method="sendMessage", params=header_params, **common)
    await outbox.enqueue(session, keys, method="copyMessage", params=copy, **common)


async def to_client(
    session: AsyncSession,
    keys: Keys,
    *,
    message_id: int,
    incoming: Incoming,
    client_id: int,
    client_chat_ref: bytes,
    protect_content: bool,
) -> None:
    """Queue a consultant's message for the client: copied, so no sender is shown."""
    params = {
        "from_chat_id": incoming.chat_id,
        "message_id": incoming.source_message_id,
        "protect_content": protect_content,
    }
    await outbox.enqueue(
        session,
        keys,
        chat_ref=client_chat_ref,
        recipient=f"client:{client_id}",
        method="copyMessage",
        params=params,
        message_id=message_id,
    )


async def notice(
    session: AsyncSession,
    keys: Keys,
    *,
    chat_ref: bytes,
    recipient: str,
    text: str,
    buttons: list[list[dict[str, str]]] | None = None,
    priority: int = 0,
    protect_content: bool = False,
    thread_id: int | None = None,
) -> None:
    """Queue a message of the bot's own (a notification, a status change) as HTML."""
    params: dict[str, object] = {"text": text, "parse_mode": "HTML"}
    if thread_id:
        params["message_thread_id"] = thread_id
    if buttons:
        params["reply_markup"] = {"inline_keyboard": buttons}
    if protect_content:
        params["protect_content"] = True
    await outbox.enqueue(
        session,
        keys,
        chat_ref=chat_ref,
        recipient=recipient,
        method="sendMessage",
        params=params,
        priority=priority,
    )


async def conversation_of(session: AsyncSession, message_id: int) -> int | None:
    return await session.scalar(select(Message.conversation_id).where(Message.id == message_id))


async def client_messages(
    session: AsyncSession, keys: Keys, conversation_id: int, client_chat_id: int
) -> list[tuple[int, Incoming]]:
    """The client's messages in a conversation, oldest first: what a consultant who takes
    it must see first (written while the client waited)."""
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.author == "client")
        .order_by(Message.id)
    )
    return [
        (
            row.id,
            Incoming(
                update_id=row.update_id or 0,
                kind=row.kind,
                text=keys.decrypt(row.body, purpose=MESSAGE_PURPOSE).decode() if row.body else None,
                source_message_id=row.source_message_id or 0,
                chat_id=client_chat_id,
            ),
        )
        for row in rows
    ]


async def find_recorded(
    session: AsyncSession, *, author: str, chat_source_message_id: int, conversation_id: int
) -> Message | None:
    """The recorded message an edit refers to (by its id in the sender's chat)."""
    return await session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.author == author,
            Message.source_message_id == chat_source_message_id,
        )
    )


async def relay_edit(
    session: AsyncSession,
    keys: Keys,
    *,
    conversation_id: int,
    author: str,
    incoming: Incoming,
    header: str | None,
) -> int:
    """Relay an edit as an edit of each delivered copy; returns how many edits were queued.

    The stored body is replaced too, so history shows what the sender meant in the end.
    A copy of a message without text (a sticker) cannot be edited, and is left alone.
    """
    row = await find_recorded(
        session,
        author=author,
        chat_source_message_id=incoming.source_message_id,
        conversation_id=conversation_id,
    )
    if row is None or incoming.text is None:
        return 0
    row.body = keys.encrypt(incoming.text.encode(), purpose=MESSAGE_PURPOSE)
    text = html.escape(incoming.text, quote=False)
    queued = 0
    for copy in await outbox.sent_copies(session, keys, row.id):
        shown = f"{header}\n{text}" if header else text
        if copy.method == "sendMessage" or (copy.method == "copyMessage" and row.kind == "text"):
            method, params = "editMessageText", {"text": shown, "parse_mode": "HTML"}
        elif row.kind in CAPTIONED:
            method, params = "editMessageCaption", {"caption": shown, "parse_mode": "HTML"}
        else:
            continue
        params["message_id"] = copy.sent_message_id
        await outbox.enqueue(
            session,
            keys,
            chat_ref=copy.chat_ref,
            recipient=copy.recipient,
            method=method,
            params=params,
        )
        queued += 1
    await session.flush()
    return queued
