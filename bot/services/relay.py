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
line or word break; nothing is cut off.

Merging: a client who writes many short messages while their consultant's chat is paced
(one message a second per chat) would otherwise fall minutes behind. A text for a recipient
whose last queued row is a not-yet-claimed text of the same conversation and author is added
to that row (one header, order kept) while it fits. A conditional UPDATE makes this safe
against a worker claiming the row at the same moment: then a new row is queued instead.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Conversation, Message
from bot.services import outbox

# Kinds Telegram lets us copy with a caption of our own; the others get a header line first.
CAPTIONED = {"photo", "video", "document", "audio", "voice", "animation"}
KINDS = CAPTIONED | {"text", "sticker", "video_note"}
MESSAGE_PURPOSE = b"message"
TEXT_LIMIT = 4096  # characters of a text message, after entities are parsed
CAPTION_LIMIT = 1024  # characters of a media caption, after entities are parsed
_TAG = re.compile(r"<[^>]*>")


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
) -> None:
    """Queue a client's message for their consultant, headed by the client's pseudonym
    (or, with `recipient` and `thread_id`, into a staff-group topic). Protected by default,
    so a consultant's phone cannot forward or save what clients wrote.

    The header shares the message only when both fit Telegram's limits; otherwise it is a
    message of its own right before (see the module's docstring)."""
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
        merged = await _merge_into_tail(
            session, keys, recipient=recipient, message_id=message_id, header=header, raw=raw,
            extra=extra, now=now,
        )  # fmt: skip
        if not merged:
            for part in text_parts(header, raw):
                await send("sendMessage", {"text": part, "parse_mode": "HTML"})
        return
    copy: dict[str, Any] = {
        "from_chat_id": incoming.chat_id,
        "message_id": incoming.source_message_id,
    }
    if incoming.kind in CAPTIONED:
        together = f"{header}\n{_escape(raw)}".strip()
        if shown_length(together) <= CAPTION_LIMIT:
            copy |= {"caption": together, "parse_mode": "HTML"}
        elif shown_length(_escape(raw)) <= CAPTION_LIMIT:
            await send("sendMessage", {"text": header, "parse_mode": "HTML"})
            copy |= {"caption": _escape(raw), "parse_mode": "HTML"}
        else:  # longer than a bot may caption: the words as text first, the media bare
            for part in text_parts(header, raw):
                await send("sendMessage", {"text": part, "parse_mode": "HTML"})
            copy |= {"caption": ""}
    else:  # stickers and video notes take no caption
        await send("sendMessage", {"text": header, "parse_mode": "HTML"})
    await send("copyMessage", copy)


def shown_length(html_text: str) -> int:
    """How long Telegram counts an HTML text: tags parsed away, entities as one character,
    in UTF-16 code units (an emoji counts two), which is never less than the characters
    Telegram counts, so what fits here fits there."""
    plain = html.unescape(_TAG.sub("", html_text))
    return len(plain.encode("utf-16-le")) // 2


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def text_parts(header: str | None, raw: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`raw` (plain text) as HTML messages of at most `limit` shown characters: with the
    header on the first one if it fits, else the header alone first; a text longer than
    the limit split at a line or word break. Joined, the parts are `raw` exactly."""
    body = _escape(raw)
    if header and shown_length(f"{header}\n{body}") <= limit:
        return [f"{header}\n{body}"]
    parts = [header] if header else []
    return parts + [_escape(chunk) for chunk in _chunks(raw, limit)]


def _chunks(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` UTF-16 units, cut after a line break or a space
    in the second half of a piece if there is one (never inside a surrogate pair)."""
    pieces: list[str] = []
    while len(text.encode("utf-16-le")) // 2 > limit:
        units, cut = 0, 0
        for index, char in enumerate(text):
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                cut = index
                break
        space = max(text.rfind("\n", 0, cut), text.rfind(" ", 0, cut))
        if space >= cut // 2:
            cut = space + 1
        pieces.append(text[:cut])
        text = text[cut:]
    if text or not pieces:
        pieces.append(text)
    return pieces


async def _merge_into_tail(
    session: AsyncSession,
    keys: Keys,
    *,
    recipient: str,
    message_id: int,
    header: str,
    raw: str,
    extra: dict[str, Any],
    now: datetime | None,
) -> bool:
    """Add a text to the recipient's last queued row if it is a text of the same
    conversation and author, not yet claimed, headed alike, and the sum fits; True if so."""
    tail = await outbox.pending_tail(session, keys, recipient, now=now)
    if tail is None or tail.method != "sendMessage" or tail.message_id is None:
        return False
    text = tail.params.get("text")
    same_extra = {k: tail.params.get(k) for k in ("message_thread_id", "protect_content")} == {
        k: extra.get(k) for k in ("message_thread_id", "protect_content")
    }
    if not isinstance(text, str) or not text.startswith(f"{header}\n") or not same_extra:
        return False
    if "reply_markup" in tail.params or not await _same_thread(
        session, tail.message_id, message_id
    ):
        return False
    merged = f"{text}\n{_escape(raw)}"
    if shown_length(merged) > TEXT_LIMIT:
        return False
    return await outbox.replace_params(
        session, keys, tail.id, {**tail.params, "text": merged}, now=now
    )


async def _same_thread(session: AsyncSession, first_id: int, second_id: int) -> bool:
    """Both messages are texts by the same side of one conversation."""
    rows = (
        await session.execute(
            select(Message.conversation_id, Message.author, Message.staff_id, Message.kind).where(
                Message.id.in_((first_id, second_id))
            )
        )
    ).all()
    return len(rows) == 2 and rows[0] == rows[1] and rows[0].kind == "text"


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


@dataclass(frozen=True)
class Sender:
    """Who wrote a recorded message, to tell them it could not be delivered."""

    author: str  # "client" | "staff"
    staff_id: int | None
    client_id: int
    conversation_id: int
    source_message_id: int | None  # in the sender's chat
    text: str | None


async def sender_of(session: AsyncSession, keys: Keys, message_id: int) -> Sender | None:
    row = (
        await session.execute(
            select(
                Message.author,
                Message.staff_id,
                Message.source_message_id,
                Message.body,
                Conversation.client_id,
                Conversation.id,
            )
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.id == message_id)
        )
    ).one_or_none()
    if row is None:
        return None
    text = keys.decrypt(row.body, purpose=MESSAGE_PURPOSE).decode() if row.body else None
    return Sender(row.author, row.staff_id, row.client_id, row.id, row.source_message_id, text)


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


@dataclass(frozen=True)
class Target:
    """Where to send an edit anew if its message has no delivered copy yet (still queued,
    or merged into an earlier text): the other side of the conversation."""

    recipient: str
    chat_ref: bytes


async def relay_edit(
    session: AsyncSession,
    keys: Keys,
    *,
    conversation_id: int,
    author: str,
    incoming: Incoming,
    header: str | None,
    resend_to: Target | None = None,
    protect_content: bool = False,
) -> int:
    """Relay an edit as an edit of each delivered copy; returns how many calls were queued.

    The stored body is replaced too, so history shows what the sender meant in the end.
    A copy of a message without text (a sticker) cannot be edited, and is left alone.

    An edit must fit Telegram's limits like a message: the header goes with it only where it
    went with the original (one copy, and it still fits); when the edited text does not fit
    the copy, or there is no copy to edit (`resend_to`), it is sent anew as a message headed
    "✏️", so the recipient reads what the sender meant in the end.
    """
    row = await find_recorded(
        session,
        author=author,
        chat_source_message_id=incoming.source_message_id,
        conversation_id=conversation_id,
    )
    if row is None or incoming.text is None:
        return 0
    before = keys.decrypt(row.body, purpose=MESSAGE_PURPOSE).decode() if row.body else ""
    row.body = keys.encrypt_text(incoming.text, purpose=MESSAGE_PURPOSE)
    text = _escape(incoming.text)
    groups: dict[str, list[outbox.SentCopy]] = {}
    for copy in await outbox.sent_copies(session, keys, row.id):
        groups.setdefault(copy.recipient, []).append(copy)
    queued = 0
    for recipient, copies in groups.items():
        last = copies[-1]
        # With the header sent apart (a long original), the header is already above.
        shown = f"{header}\n{text}" if header and len(copies) == 1 else text
        if last.method == "sendMessage" or (last.method == "copyMessage" and row.kind == "text"):
            method, params, limit = "editMessageText", {"text": shown}, TEXT_LIMIT
        elif row.kind in CAPTIONED:
            method, params, limit = "editMessageCaption", {"caption": shown}, CAPTION_LIMIT
        else:
            continue
        if shown_length(shown) > limit or not _shows_only(last, _escape(before)):
            target = Target(recipient, last.chat_ref)
            queued += await _resend(session, keys, target, header, row, protect=protect_content)
            continue
        params |= {"parse_mode": "HTML", "message_id": last.sent_message_id}
        await outbox.enqueue(
            session,
            keys,
            chat_ref=last.chat_ref,
            recipient=recipient,
            method=method,
            params=params,
            message_id=row.id,
        )
        queued += 1
    if not groups and resend_to is not None and row.kind in KINDS - {"sticker", "video_note"}:
        queued += await _resend(session, keys, resend_to, header, row, protect=protect_content)
    await session.flush()
    return queued


async def _resend(
    session: AsyncSession,
    keys: Keys,
    target: Target,
    header: str | None,
    row: Message,
    *,
    protect: bool,
) -> int:
    """An edit that cannot be made in place, as new messages: "✏️" header, then the text."""
    raw = keys.decrypt(row.body, purpose=MESSAGE_PURPOSE).decode() if row.body else ""
    parts = text_parts(header or "✏️", raw)
    for part in parts:
        params: dict[str, Any] = {"text": part, "parse_mode": "HTML"}
        if protect:
            params["protect_content"] = True
        await outbox.enqueue(
            session,
            keys,
            chat_ref=target.chat_ref,
            recipient=target.recipient,
            method="sendMessage",
            params=params,
            message_id=row.id,
        )
    return len(parts)


def _shows_only(copy: outbox.SentCopy, body: str) -> bool:
    """The copy shows this one message (its body, perhaps under a one-line header), not
    texts merged after it: only then may an edit replace what it shows."""
    if copy.shown is None:  # a plain copy: it is the original itself
        return True
    if copy.shown == body:
        return True
    _head, newline, rest = copy.shown.partition("\n")
    return bool(newline) and rest == body
