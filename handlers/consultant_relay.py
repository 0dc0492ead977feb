"""What a consultant writes goes to their client: by reply, current choice, or only one.

A message that cannot be placed is never sent to a guess: the consultant is asked to choose.
The same goes for a message that could be an answer to a client or the input they started
(e.g. a post's text): the bot asks who it is for (buttons under a reply to it).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler

from bot import awaiting
from bot.callbacks import encode, parse, pattern_for
from bot.i18n import Translator
from bot.services import outbox, queue, relay
from bot.services.queue import ConversationView
from bot.services.staff import StaffView
from handlers import handover, screens
from handlers.common import PeerlineContext, incoming_from
from handlers.door import describe
from handlers.staff_common import require_staff, staff_translator


async def answer(
    update: Update, context: PeerlineContext, member: StaffView, message: Message
) -> bool:
    """A consultant's message while they hold conversations (the dispatcher's second tier).
    False when they hold none, so the dispatcher goes on to the input they started."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    async with runtime.transaction() as session:
        active = await queue.active_for_staff(session, member.id)
        if not active:
            return False
        replied = await replied_conversation(session, member, message.reply_to_message, active)
        pending = member.awaiting
        if replied is None and pending is not None:
            conversation = None  # an answer, or the input? Asked below, never guessed.
        elif replied is not None:
            conversation = replied
        else:
            conversation = current_or_only(member, active)
        incoming = incoming_from(update, message)
        if conversation is not None and incoming is not None:
            await handover.answer_client(context, session, conversation, member, incoming)
    if incoming is None:
        await message.reply_text(
            _.gettext("This kind of message cannot be passed on. Please send text or a photo.")
        )
    elif conversation is None and pending is not None:
        text, keyboard = which_is_it(_, active, pending)
        await message.reply_text(
            text, reply_markup=keyboard, reply_to_message_id=message.message_id
        )
    elif conversation is None:
        text, keyboard = choose_conversation(_, active)
        await message.reply_text(text, reply_markup=keyboard)
    return True


async def replied_conversation(
    session: AsyncSession,
    member: StaffView,
    reply_to: Message | None,
    active: list[ConversationView],
) -> ConversationView | None:
    """The open conversation whose relayed message the consultant replied to, if any."""
    if reply_to is None:
        return None
    message_id = await outbox.find_by_sent_message(
        session, f"staff:{member.id}", reply_to.message_id
    )
    conversation_id = await relay.conversation_of(session, message_id) if message_id else None
    return next((c for c in active if c.id == conversation_id), None)


def current_or_only(member: StaffView, active: list[ConversationView]) -> ConversationView | None:
    by_id = {c.id: c for c in active}
    if member.current_conversation_id in by_id:
        return by_id[member.current_conversation_id]
    return active[0] if len(active) == 1 else None


def which_is_it(
    _: Translator, active: list[ConversationView], pending: awaiting.StaffInput
) -> tuple[str, Keyboard]:
    what = describe(_, pending)
    rows = [
        [
            Button(
                "→ " + screens.client_name(_, c.pseudonym),
                callback_data=encode("for", "c", c.id),
            )
        ]
        for c in active
    ]
    rows.append([Button("✏️ " + what[:48], callback_data=encode("for", "i"))])
    text = _.gettext(
        "Not sent yet. Who is this message for? You hold a conversation and you are also "
        "writing %(what)s.",
        what=what,
    )
    return text, Keyboard(rows)


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
    app.add_handler(CallbackQueryHandler(switch_current, pattern=pattern_for("cur")))
