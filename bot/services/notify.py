"""The bot's own notices (a status change, a hand-over, a rating request, a whisper), built in
one place: who gets it, in which language, with which buttons, through the outbox.

A call site names the recipient and the words, nothing else:

    await notify.staff(session, runtime, member_id, lambda _: _.gettext("..."))
    await notify.client(session, runtime, client_id, lambda _: _.gettext("..."), language=...)

The text may be a string or a function of the recipient's translator: the notice is then
worded in *their* language, which the caller would otherwise have to look up (staff read
the bot in the first language they serve; a client in the language of their conversation,
or of their settings). Notices are HTML; buttons may be a PTB keyboard or rows of dicts.
Nothing is sent here: rows are queued in the caller's transaction (record first, then act).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.crypto import Keys
from bot.i18n import Translator
from bot.services import channels, clients, outbox
from bot.services import staff as staff_service
from bot.services.staff import StaffView

if TYPE_CHECKING:
    from bot.runtime import Runtime

Text = str | Callable[[Translator], str]
Rows = Sequence[Sequence[dict[str, str]]]
Buttons = InlineKeyboardMarkup | Rows | None


def staff_recipient(staff_id: int) -> str:
    return f"staff:{staff_id}"


def client_recipient(client_id: int) -> str:
    return f"client:{client_id}"


def staff_translator(runtime: Runtime, member: StaffView) -> Translator:
    """Staff read the bot in the first language they serve (notices reach them without an
    update, so it cannot depend on the device)."""
    return runtime.i18n.get(member.languages[0] if member.languages else None)


def rows_of(buttons: Buttons) -> list[list[dict[str, str]]] | None:
    """Buttons as the outbox stores them (JSON rows), whatever form the caller had."""
    if buttons is None:
        return None
    if isinstance(buttons, InlineKeyboardMarkup):
        return [
            [{key: str(value) for key, value in button.to_dict().items()} for button in row]
            for row in buttons.inline_keyboard
        ]
    return [[dict(button) for button in row] for row in buttons]


async def send(
    session: AsyncSession,
    keys: Keys,
    *,
    chat_ref: bytes,
    recipient: str,
    text: str,
    buttons: Buttons = None,
    priority: int = 0,
    protect_content: bool = False,
    thread_id: int | None = None,
    message_id: int | None = None,
) -> None:
    """Queue a message of the bot's own as HTML, to a chat already resolved.

    `message_id` ties it to a recorded message (a whisper), so a reply to it finds its way
    back (bot/services/whispers.py)."""
    params: dict[str, object] = {"text": text, "parse_mode": "HTML"}
    if thread_id:
        params["message_thread_id"] = thread_id
    rows = rows_of(buttons)
    if rows:
        params["reply_markup"] = {"inline_keyboard": rows}
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
        message_id=message_id,
    )


async def staff(
    session: AsyncSession,
    runtime: Runtime,
    to: int | StaffView,
    text: Text,
    *,
    buttons: Buttons | Callable[[Translator], Buttons] = None,
    protect: bool = False,
    message_id: int | None = None,
    priority: int = 0,
) -> bool:
    """A notice to a staff member's private chat, in their language; False (nothing queued)
    if there is no such member."""
    member = to if isinstance(to, StaffView) else await staff_service.get(session, to)
    if member is None:
        return False
    _ = staff_translator(runtime, member)
    await send(
        session,
        runtime.keys,
        chat_ref=await staff_service.chat_ref(session, member.id),
        recipient=staff_recipient(member.id),
        text=text if isinstance(text, str) else text(_),
        buttons=buttons(_) if callable(buttons) else buttons,
        protect_content=protect,
        message_id=message_id,
        priority=priority,
    )
    return True


async def posters(
    session: AsyncSession,
    runtime: Runtime,
    text: Text,
    *,
    buttons: Buttons | Callable[[Translator], Buttons] = None,
) -> int:
    """The same notice to everyone who may post to channels (channel admins, coordinators),
    each in their language; how many were queued."""
    queued = 0
    for member in await staff_service.list_staff(session):
        if member.role in channels.POSTING_ROLES:
            queued += await staff(session, runtime, member, text, buttons=buttons)
    return queued


async def client(
    session: AsyncSession,
    runtime: Runtime,
    client_id: int,
    text: Text,
    *,
    language: str | None = None,
    buttons: Buttons | Callable[[Translator], Buttons] = None,
    protect: bool = False,
    priority: int = 0,
) -> None:
    """A notice to a client's chat, in `language` (their conversation's), else in the
    language of their settings. `buttons` may depend on the translator too."""
    if language is None:
        language = await clients.language_of(session, client_id)
    _ = runtime.i18n.get(language)
    await send(
        session,
        runtime.keys,
        chat_ref=await clients.chat_ref(session, client_id),
        recipient=client_recipient(client_id),
        text=text if isinstance(text, str) else text(_),
        buttons=buttons(_) if callable(buttons) else buttons,
        protect_content=protect,
        priority=priority,
    )
