"""Inbox and relay rules: record a message first, then queue its delivery to the other side.

Record first, then act (shared/DESIGN.md): the message row (body encrypted, unique update_id)
and its outbox rows are written in one transaction, so a crash never loses an accepted
message and a redelivered update is a no-op. Delivery happens later, in the outbox worker.

Telegram's limits (4,096 characters of text, 1,024 of caption, counted after the HTML is
parsed) are the sender's, not ours: a client's message that fills them must still arrive
whole. So our header ("👤 Client 482113") goes on the same message only when both fit;
otherwise it is sent as a message of its own right before, and the outbox keeps one
recipient's rows in order (`outbox_claim.claim_due`), so it always lands directly above. A text
longer than Telegram allows (a form we built, a Premium user's long caption) is split at a
line or word break (bot/services/text_limits.py); nothing is cut off.

Reading recorded messages back is bot/services/recorded.py; relaying an edit is
bot/services/relay_edits.py; the bot's own notices are bot/services/notify.py.

Merging: a staff chat is paced at one message a second (Telegram's limit per chat), so a
consultant with ten clients writing short lines would fall minutes behind if each line were a
message of its own. Two steps keep them current:
- here, a text for a recipient whose last queued row is a text of the same writer (the
  same `Outbox.section`) that no worker has claimed yet is added to that row (one header,
  order kept) while it fits; a conditional UPDATE makes this safe against a worker claiming
  the row at the same moment: then a new row is queued instead;
- at send time, the worker sends the texts of other clients queued behind one together with
  it, each under its own header (bot/delivery_combine.py). Every row stays one client's, so
  /forget still removes exactly that client's words, and a reply to a message that shows
  several clients' words is asked about, never guessed (handlers/staff_common.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Message
from bot.services import outbox
from bot.services.text_limits import CAPTION_LIMIT, TEXT_LIMIT, escape, shown_length, text_parts

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
    body = keys.encrypt_text(incoming.text, purpose=MESSAGE_PURPOSE) if incoming.text else None
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
    now: datetime | None = None,
    alone: bool = False,
) -> None:
    """Queue a client's message for their consultant, headed by the client's pseudonym
    (or, with `recipient` and `thread_id`, into a staff-group topic). Protected by default,
    so a consultant's phone cannot forward or save what clients wrote.

    The header shares the message only when both fit Telegram's limits; otherwise it is a
    message of its own right before (see the module's docstring). `alone`: never sent
    together with texts of other conversations (a supervisor's read-along copy, which a
    reply must lead back to one conversation)."""
    recipient = recipient or f"staff:{staff_id}"
    raw = incoming.text or ""
    extra: dict[str, Any] = {"message_thread_id": thread_id} if thread_id else {}
    if protect_content:
        extra["protect_content"] = True

    async def send(method: str, params: dict[str, Any]) -> None:
        await outbox.enqueue(
            session,
            keys,
            chat_ref=staff_chat_ref,
            recipient=recipient,
            method=method,
            params={**params, **extra},
            message_id=message_id,
        )

    if incoming.kind == "text":
        section = await _section_of(session, message_id, alone=alone)
        if section is not None and await _merge_into_tail(
            session, keys, recipient=recipient, section=section, raw=raw, extra=extra, now=now
        ):
            return
        parts = text_parts(header, raw)
        # Only a whole text under its header may take more (not a part of a long one).
        whole = len(parts) == 1 and parts[0].startswith(f"{header}\n")
        for part in parts:
            await outbox.enqueue(
                session,
                keys,
                chat_ref=staff_chat_ref,
                recipient=recipient,
                method="sendMessage",
                params={"text": part, "parse_mode": "HTML", **extra},
                message_id=message_id,
                section=section if whole else None,
            )
        return
    copy: dict[str, Any] = {
        "from_chat_id": incoming.chat_id,
        "message_id": incoming.source_message_id,
    }
    if incoming.kind in CAPTIONED:
        together = f"{header}\n{escape(raw)}".strip()
        if shown_length(together) <= CAPTION_LIMIT:
            copy |= {"caption": together, "parse_mode": "HTML"}
        elif shown_length(escape(raw)) <= CAPTION_LIMIT:
            await send("sendMessage", {"text": header, "parse_mode": "HTML"})
            copy |= {"caption": escape(raw), "parse_mode": "HTML"}
        else:  # longer than a bot may caption: the words as text first, the media bare
            for part in text_parts(header, raw):
                await send("sendMessage", {"text": part, "parse_mode": "HTML"})
            copy |= {"caption": ""}
    else:  # stickers and video notes take no caption
        await send("sendMessage", {"text": header, "parse_mode": "HTML"})
    await send("copyMessage", copy)


async def _section_of(session: AsyncSession, message_id: int, *, alone: bool) -> str | None:
    """Who wrote a recorded text, as `Outbox.section` names it; None for other kinds. The
    message was just recorded in this session, so this is normally no query at all."""
    row = await session.get(Message, message_id)
    if row is None or row.kind != "text":
        return None
    return f"{row.conversation_id}:{row.author}:{row.staff_id or 0}" + ("!" if alone else "")


async def _merge_into_tail(
    session: AsyncSession,
    keys: Keys,
    *,
    recipient: str,
    section: str,
    raw: str,
    extra: dict[str, Any],
    now: datetime | None,
) -> bool:
    """Add a text to the recipient's last queued row if that is a text of the same writer no
    worker has claimed, sent alike (topic, protection), and the sum fits; True if so."""
    tail = await outbox.pending_tail(session, keys, recipient, now=now)
    if tail is None or tail.method != "sendMessage" or tail.section != section:
        return False
    text = tail.params.get("text")
    same_extra = {k: tail.params.get(k) for k in ("message_thread_id", "protect_content")} == {
        k: extra.get(k) for k in ("message_thread_id", "protect_content")
    }
    if not isinstance(text, str) or "reply_markup" in tail.params or not same_extra:
        return False
    merged = f"{text}\n{escape(raw)}"
    if shown_length(merged) > TEXT_LIMIT:
        return False
    return await outbox.replace_params(
        session, keys, tail.id, {**tail.params, "text": merged}, now=now
    )


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
