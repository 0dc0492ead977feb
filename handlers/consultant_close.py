"""A consultant ends a conversation: /close with an outcome, /release, and /history.

Each names whose conversation it acts on. With several open and no reply to a client's
message, the consultant is asked which (staff_common.ask_which); then /close asks for the
outcome, naming the client, and /release asks to confirm: never a guess.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import encode, parse, pattern_for
from bot.i18n import Translator
from bot.services import case_history, clients, followup, notify, queue
from bot.services.queue import ConversationView
from bot.services.staff import StaffView
from handlers import forum_common, screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query
from handlers.staff_common import command_conversation, pick, require_staff, staff_translator

PRIVATE = PRIVATE_MESSAGE


def outcome_screen(_: Translator, conversation: ConversationView) -> tuple[str, Keyboard]:
    rows = [
        [Button(_.gettext(label), callback_data=encode("close", conversation.id, outcome))]
        for outcome, label in screens.OUTCOME_NAMES.items()
    ]
    text = _.gettext(
        "How did it end? (%(who)s)", who=screens.client_name(_, conversation.pseudonym)
    )
    return text, Keyboard(rows)


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
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def close_picked(update: Update, context: PeerlineContext) -> None:
    """/close, then a conversation chosen: the outcome buttons, naming the client."""
    choice = await pick(update, context)
    if choice is None:
        return
    _ = choice.translator
    await answer_query(update, context)
    text, keyboard = outcome_screen(_, choice.conversation)
    await update.callback_query.edit_message_text(text, reply_markup=keyboard)


async def close_button(update: Update, context: PeerlineContext) -> None:
    """An outcome button: close, ask the client for a rating."""
    member = await require_staff(update, context)
    if member is None:
        return
    callback = parse(update.callback_query.data)
    conversation_id, outcome = int(callback.args[0]), callback.args[1]
    _ = staff_translator(context, member)
    runtime = context.runtime
    async with runtime.transaction() as session:
        mine = {c.id: c for c in await queue.active_for_staff(session, member.id)}
        conversation = mine.get(conversation_id)
        if conversation is not None and outcome in queue.OUTCOMES:
            # Checked as ours and active in this same transaction, so close cannot refuse.
            await queue.close(session, conversation.id, staff_id=member.id, outcome=outcome)
            await forum_common.close_topic(context, session, conversation.id)
            if outcome == "referred":
                await followup.schedule(
                    session, conversation.id, days=runtime.settings.follow_up_days
                )
            client_ = runtime.i18n.get(conversation.language)
            text, keyboard = screens.rating_request(client_, conversation.id)
            await notify.send(
                session,
                runtime.keys,
                chat_ref=await clients.chat_ref(session, conversation.client_id),
                recipient=f"client:{conversation.client_id}",
                text=text,
                buttons=keyboard.to_dict()["inline_keyboard"],
            )
            mine.pop(conversation.id)
    await answer_query(update, context)
    if conversation is None or outcome not in queue.OUTCOMES:
        await update.callback_query.edit_message_text(_.gettext("This conversation is not open."))
        return
    text = _.gettext(
        "Closed: %(who)s (%(outcome)s).",
        who=screens.client_name(_, conversation.pseudonym),
        outcome=_.gettext(screens.OUTCOME_NAMES[outcome]),
    )
    await update.callback_query.edit_message_text(
        "\n".join(filter(None, (text, screens.holding_line(_, list(mine.values())))))
    )


async def release_command(update: Update, context: PeerlineContext) -> None:
    """/release: back to the queue for someone else; the client is told."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation = await command_conversation(update, context, member, _, "release")
    if conversation is None:
        return
    await update.effective_message.reply_text(await release(context, member, _, conversation.id))


async def release_picked(update: Update, context: PeerlineContext) -> None:
    """/release, then a conversation chosen: confirm, naming the client."""
    choice = await pick(update, context)
    if choice is None:
        return
    _ = choice.translator
    conversation = choice.conversation
    who = screens.client_name(_, conversation.pseudonym)
    await answer_query(update, context)
    await update.callback_query.edit_message_text(
        _.gettext("Put %(who)s back in the queue? They are told.", who=who),
        reply_markup=Keyboard(
            [
                [
                    Button(
                        _.gettext("Yes, release %(who)s", who=who),
                        callback_data=encode("on", "release_ok", conversation.id),
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
    callback = parse(update.callback_query.data)
    await answer_query(update, context)
    text = await release(context, member, _, int(callback.args[1]))
    await update.callback_query.edit_message_text(text)


async def release(
    context: PeerlineContext, member: StaffView, _: Translator, conversation_id: int
) -> str:
    """Put the conversation back in the queue and tell the client; what to tell the member."""
    runtime = context.runtime
    async with runtime.transaction() as session:
        try:
            conversation = await queue.release(session, member.id, conversation_id)
        except queue.NotAllowed:  # the client ended it a moment earlier, or not theirs
            return _.gettext("This conversation is not open.")
        client_ = runtime.i18n.get(conversation.language)
        await notify.send(
            session,
            runtime.keys,
            chat_ref=await clients.chat_ref(session, conversation.client_id),
            recipient=f"client:{conversation.client_id}",
            text=client_.gettext(
                "Your consultant had to step away. Your request is back in the queue: "
                "the next consultant will see everything you wrote."
            ),
        )
        left = await queue.active_for_staff(session, member.id)
    text = _.gettext(
        "%(who)s is back in the queue.", who=screens.client_name(_, conversation.pseudonym)
    )
    return "\n".join(filter(None, (text, screens.holding_line(_, left))))


async def history_command(update: Update, context: PeerlineContext) -> None:
    """/history: the client's earlier conversations (pseudonym only; audited)."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation = await command_conversation(update, context, member, _, "history")
    if conversation is None:
        return
    await update.effective_message.reply_text(await history(context, member, _, conversation))


async def history_picked(update: Update, context: PeerlineContext) -> None:
    choice = await pick(update, context)
    if choice is None:
        return
    member, _ = choice.member, choice.translator
    await answer_query(update, context)
    await update.callback_query.edit_message_text(
        await history(context, member, _, choice.conversation)
    )


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
    app.add_handler(CallbackQueryHandler(close_button, pattern=pattern_for("close")))
    app.add_handler(CallbackQueryHandler(close_picked, pattern=pattern_for("on", "close")))
    app.add_handler(CallbackQueryHandler(release_picked, pattern=pattern_for("on", "release")))
    app.add_handler(
        CallbackQueryHandler(release_confirmed, pattern=pattern_for("on", "release_ok"))
    )
    app.add_handler(CallbackQueryHandler(history_picked, pattern=pattern_for("on", "history")))
