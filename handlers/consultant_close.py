"""A consultant ends a conversation: /close with an outcome, /release, and /history.

Each names whose conversation it acts on. With several open and no reply to a client's
message, the consultant is asked which (staff_common.ask_which); then /close asks for the
outcome, naming the client, and /release asks to confirm: never a guess.
"""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import Close, PickConversation, encode, pattern_for
from bot.i18n import Translator
from bot.services import case_history, closing, handover
from bot.services.queue import ConversationView
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, callback_of
from handlers.staff_common import command_conversation, pick, require_staff, staff_translator

PRIVATE = PRIVATE_MESSAGE


def outcome_screen(_: Translator, conversation: ConversationView) -> tuple[str, Keyboard]:
    rows = [
        [Button(_.gettext(label), callback_data=encode(Close(conversation.id, outcome)))]
        for outcome, label in screens.OUTCOME_NAMES.items()
    ]
    text = _.gettext(
        "How did it end? (%(who)s)", who=screens.client_name(_, conversation.pseudonym)
    )
    return text, Keyboard(rows)


def _message(update: Update) -> Message:
    """The command's message (the handlers here are registered for private messages)."""
    assert update.effective_message is not None
    return update.effective_message


def _query(update: Update) -> CallbackQuery:
    assert update.callback_query is not None
    return update.callback_query


async def close_command(update: Update, context: PeerlineContext) -> None:
    """/close: ask for the outcome (it feeds the anonymous reports)."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation = await command_conversation(update, context, member, _, "close")
    if conversation is None:
        return
    text, keyboard = outcome_screen(_, conversation)
    await _message(update).reply_text(text, reply_markup=keyboard)


async def close_picked(update: Update, context: PeerlineContext) -> None:
    """/close, then a conversation chosen: the outcome buttons, naming the client."""
    choice = await pick(update, context)
    if choice is None:
        return
    _ = choice.translator
    await answer_query(update, context)
    text, keyboard = outcome_screen(_, choice.conversation)
    await _query(update).edit_message_text(text, reply_markup=keyboard)


async def close_button(update: Update, context: PeerlineContext) -> None:
    """An outcome button: close (bot/services/closing.py does all that follows)."""
    member = await require_staff(update, context)
    if member is None:
        return
    pressed = callback_of(update, Close)
    conversation_id, outcome = pressed.conversation_id, pressed.outcome
    _ = staff_translator(context, member)
    runtime = context.runtime
    async with runtime.transaction() as session:
        closed = await closing.close_conversation(
            session, runtime, conversation_id, staff_id=member.id, outcome=outcome
        )
    await answer_query(update, context)
    if closed is None:
        await _query(update).edit_message_text(_.gettext("This conversation is not open."))
        return
    text = _.gettext(
        "Closed: %(who)s (%(outcome)s).",
        who=screens.client_name(_, closed.conversation.pseudonym),
        outcome=_.gettext(screens.OUTCOME_NAMES[outcome]),
    )
    holding = screens.holding_line(_, list(closed.holding))
    await _query(update).edit_message_text("\n".join(filter(None, (text, holding))))


async def release_command(update: Update, context: PeerlineContext) -> None:
    """/release: back to the queue for someone else; the client is told."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation = await command_conversation(update, context, member, _, "release")
    if conversation is None:
        return
    await _message(update).reply_text(await release(context, member, _, conversation.id))


async def release_picked(update: Update, context: PeerlineContext) -> None:
    """/release, then a conversation chosen: confirm, naming the client."""
    choice = await pick(update, context)
    if choice is None:
        return
    _ = choice.translator
    conversation = choice.conversation
    who = screens.client_name(_, conversation.pseudonym)
    await answer_query(update, context)
    await _query(update).edit_message_text(
        _.gettext("Put %(who)s back in the queue? They are told.", who=who),
        reply_markup=Keyboard(
            [
                [
                    Button(
                        _.gettext("Yes, release %(who)s", who=who),
                        callback_data=encode(PickConversation("release_ok", conversation.id)),
                    )
                ]
            ]
        ),
    )


async def release_confirmed(update: Update, context: PeerlineContext) -> None:
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    await answer_query(update, context)
    text = await release(context, member, _, callback_of(update, PickConversation).conversation_id)
    await _query(update).edit_message_text(text)


async def release(
    context: PeerlineContext, member: StaffView, _: Translator, conversation_id: int
) -> str:
    """Put the conversation back in the queue (the client is told); what to tell the member."""
    runtime = context.runtime
    async with runtime.transaction() as session:
        released = await handover.release(session, runtime, member.id, conversation_id)
    if released is None:
        return _.gettext("This conversation is not open.")
    who = screens.client_name(_, released.conversation.pseudonym)
    text = _.gettext("%(who)s is back in the queue.", who=who)
    return "\n".join(filter(None, (text, screens.holding_line(_, list(released.holding)))))


async def history_command(update: Update, context: PeerlineContext) -> None:
    """/history: the client's earlier conversations (pseudonym only; audited)."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation = await command_conversation(update, context, member, _, "history")
    if conversation is None:
        return
    await _message(update).reply_text(await history(context, member, _, conversation))


async def history_picked(update: Update, context: PeerlineContext) -> None:
    choice = await pick(update, context)
    if choice is None:
        return
    member, _ = choice.member, choice.translator
    await answer_query(update, context)
    await _query(update).edit_message_text(await history(context, member, _, choice.conversation))


async def history(
    context: PeerlineContext, member: StaffView, _: Translator, conversation: ConversationView
) -> str:
    async with context.runtime.transaction() as session:
        earlier = await case_history.history(session, conversation.id, member.id)
    who = screens.client_name(_, conversation.pseudonym)
    if not earlier:
        return who + ": " + _.gettext("No earlier conversations.")
    lines = [who]
    for item in earlier:
        topic = _.gettext(screens.TOPIC_NAMES.get(item.topic, screens.TOPIC_NAMES["general"]))
        outcome = _.gettext(screens.OUTCOME_NAMES[item.outcome]) if item.outcome else "–"
        day = item.created_at.date().isoformat() if item.created_at else ""
        lines.append(f"{day} · {topic} · {outcome}")
    return "\n".join(lines)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("close", close_command, filters=PRIVATE))
    app.add_handler(CommandHandler("release", release_command, filters=PRIVATE))
    app.add_handler(CommandHandler("history", history_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(close_button, pattern=pattern_for(Close)))
    app.add_handler(
        CallbackQueryHandler(close_picked, pattern=pattern_for(PickConversation, "close"))
    )
    app.add_handler(
        CallbackQueryHandler(release_picked, pattern=pattern_for(PickConversation, "release"))
    )
    app.add_handler(
        CallbackQueryHandler(release_confirmed, pattern=pattern_for(PickConversation, "release_ok"))
    )
    app.add_handler(
        CallbackQueryHandler(history_picked, pattern=pattern_for(PickConversation, "history"))
    )
