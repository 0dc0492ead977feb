"""What a consultant writes goes to their client: by reply, current choice, or only one.

A message that cannot be placed is never sent to a guess: the consultant is asked to choose.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import encode, parse, pattern_for
from bot.i18n import Translator
from bot.services import queue, staff
from bot.services.queue import ConversationView
from handlers import handover, screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, incoming_from
from handlers.staff_common import require_staff, staff_translator, target_conversation

# Before the client flows (group -1) and the menus (0): a consultant's message is an answer.
GROUP = -3
PRIVATE = PRIVATE_MESSAGE


async def staff_message(update: Update, context: PeerlineContext) -> None:
    """A consultant's message (any kind): record it and copy it to the right client."""
    incoming = incoming_from(update)
    if incoming is None:
        return
    runtime = context.runtime
    async with runtime.transaction() as session:
        member = await staff.find_by_telegram(session, runtime.keys, update.effective_user.id)
        if member is None:
            return  # not staff: the client flows handle it
        conversation, active = await target_conversation(
            session, member, update.effective_message.reply_to_message
        )
        if conversation is not None:
            await handover.answer_client(context, session, conversation, member, incoming)
    if conversation is None:
        text, keyboard = choose_conversation(staff_translator(context, member), active)
        await update.effective_message.reply_text(text, reply_markup=keyboard)
    else:
        runtime.outbox_ready()
    raise ApplicationHandlerStop


def choose_conversation(
    _: Translator, active: list[ConversationView]
) -> tuple[str, Keyboard | None]:
    if not active:
        return _.gettext("This message was not sent: you have no open conversation. /queue"), None
    rows = [
        [Button(screens.client_name(_, c.pseudonym), callback_data=encode("cur", c.id))]
        for c in active
    ]
    text = _.gettext(
        "This message was not sent: you have several open conversations. Reply to a client's "
        "message, or choose who gets your next messages, then send it again:"
    )
    return text, Keyboard(rows)


async def switch_current(update: Update, context: PeerlineContext) -> None:
    """A "who gets my next messages" button."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation_id = int(parse(update.callback_query.data).arg)
    async with context.runtime.transaction() as session:
        chosen = await queue.set_current(session, member.id, conversation_id)
    await update.callback_query.answer()
    text = (
        _.gettext("Your messages now go to %(who)s.", who=screens.client_name(_, chosen.pseudonym))
        if chosen
        else _.gettext("That conversation is no longer yours.")
    )
    await update.callback_query.edit_message_text(text)


def register(app: Application) -> None:
    app.add_handler(
        MessageHandler(PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL, staff_message),
        group=GROUP,
    )
    app.add_handler(CallbackQueryHandler(switch_current, pattern=pattern_for("cur")))
