"""Edits of relayed messages: an edit of each delivered copy, or the text sent anew.

The stored body is replaced too, so history shows what the sender meant in the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Message
from bot.services import outbox, outbox_sent
from bot.services.recorded import find_recorded
from bot.services.relay import CAPTIONED, KINDS, MESSAGE_PURPOSE, Incoming
from bot.services.text_limits import CAPTION_LIMIT, TEXT_LIMIT, escape, shown_length, text_parts


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
    text = escape(incoming.text)
    groups: dict[str, list[outbox_sent.SentCopy]] = {}
    for copy in await outbox_sent.sent_copies(session, keys, row.id):
        groups.setdefault(copy.recipient, []).append(copy)
    queued = 0
    for recipient, copies in groups.items():
        last = copies[-1]
        # With the header sent apart (a long original), the header is already above.
        shown = f"{header}\n{text}" if header and len(copies) == 1 else text
        params: dict[str, Any]
        if last.method == "sendMessage" or (last.method == "copyMessage" and row.kind == "text"):
            method, params, limit = "editMessageText", {"text": shown}, TEXT_LIMIT
        elif row.kind in CAPTIONED:
            method, params, limit = "editMessageCaption", {"caption": shown}, CAPTION_LIMIT
        else:
            continue
        if shown_length(shown) > limit or not _shows_only(last, escape(before)):
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


def _shows_only(copy: outbox_sent.SentCopy, body: str) -> bool:
    """The copy shows this one message (its body, perhaps under a one-line header), not
    texts merged after it or sent with it: only then may an edit replace what it shows."""
    if copy.combined:
        return False
    if copy.shown is None:  # a plain copy: it is the original itself
        return True
    if copy.shown == body:
        return True
    _head, newline, rest = copy.shown.partition("\n")
    return bool(newline) and rest == body
