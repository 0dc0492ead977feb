"""Shared by the relay and the desk/care flows: copies for supervisors reading along
silently, whispers between staff, and the "🆘 Ask a supervisor" button.

The relay (handlers/consultant_relay.py, handlers/consult.py) calls `mirror` once per message it
relays; everything about silent joins stays here and in bot/services/desk.py. A copy goes
only to staff chats: the client's chat is never written to from here.
"""

from __future__ import annotations

import html

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button

from bot.callbacks import AskSupervisor, encode
from bot.i18n import Translator
from bot.services import desk, relay, staff
from bot.services.queue import ConversationView
from bot.services.relay import Incoming
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import PeerlineContext, escape
from handlers.staff_common import staff_translator


def ask_button(_: Translator, conversation_id: int) -> Button:
    """One tap in a conversation: supervisors are asked to help (handlers/care.py)."""
    return Button(
        "🆘 " + _.gettext("Ask a supervisor"), callback_data=encode(AskSupervisor(conversation_id))
    )


def mirror_header(_: Translator, sender: str, receiver: str) -> str:
    """ "👁 silent copy · Client 482113 → Anna": marked, so it is never taken for one's own."""
    return (
        "👁 <i>"
        + escape(_.gettext("silent copy"))
        + f"</i> · <b>{escape(sender)}</b> → {escape(receiver)}"
    )


async def mirror(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    message_id: int,
    incoming: Incoming,
    *,
    by: StaffView | None = None,
) -> None:
    """Copy a relayed message (`by` a consultant, or else the client's) to every supervisor
    reading along. Protected, like every copy of a client's words in a staff chat."""
    joiners = await desk.joiners(session, conversation.id)
    if not joiners:
        return
    runtime = context.runtime
    holder = by
    if holder is None and conversation.staff_id is not None:
        holder = await staff.get(session, conversation.staff_id)
    for joiner_id in joiners:
        joiner = await staff.get(session, joiner_id)
        if joiner is None:
            continue
        _ = staff_translator(context, joiner)
        client = screens.client_name(_, conversation.pseudonym)
        name = holder.display_name if holder is not None else "?"
        header = mirror_header(_, name, client) if by else mirror_header(_, client, name)
        await relay.to_staff(
            session,
            runtime.keys,
            message_id=message_id,
            incoming=incoming,
            staff_id=joiner.id,
            staff_chat_ref=await staff.chat_ref(session, joiner.id),
            header=header,
            protect_content=True,
            alone=True,  # a reply to it is a whisper about this one conversation
        )


def whisper_text(_: Translator, writer: StaffView, pseudonym: str | None, text: str) -> str:
    """ "🤫 Sveta, only to you, about Client 482113:" and the words."""
    head = _.gettext(
        "🤫 <b>%(name)s</b>, only to you, about %(who)s (reply to answer):",
        name=escape(writer.display_name),
        who=escape(screens.client_name(_, pseudonym)),
    )
    return head + "\n" + html.escape(text, quote=False)
