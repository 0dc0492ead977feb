"""A consultant ends a conversation: /close with an outcome, /release, and /history."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import encode, parse, pattern_for
from bot.services import clients, followup, queue, relay
from handlers import forum_common, screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query
from handlers.staff_common import command_conversation, require_staff, staff_translator

PRIVATE = PRIVATE_MESSAGE


async def close_command(update: Update, context: PeerlineContext) -> None:
    """/close: ask for the outcome (it feeds the anonymous reports)."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation = await command_conversation(update, context, member, _)
    if conversation is None:
        return
    rows = [
        [Button(_.gettext(label), callback_data=encode("close", conversation.id, outcome))]
        for outcome, label in screens.OUTCOME_NAMES.items()
    ]
    await update.effective_message.reply_text(
        _.gettext("How did it end? (%(who)s)", who=screens.client_name(_, conversation.pseudonym)),
        reply_markup=Keyboard(rows),
    )


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
            await relay.notice(
                session,
                runtime.keys,
                chat_ref=await clients.chat_ref(session, conversation.client_id),
                recipient=f"client:{conversation.client_id}",
                text=text,
                buttons=keyboard.to_dict()["inline_keyboard"],
            )
    await answer_query(update, context)
    if conversation is None or outcome not in queue.OUTCOMES:
        await update.callback_query.edit_message_text(_.gettext("This conversation is not open."))
        return
    await update.callback_query.edit_message_text(
        _.gettext(
            "Closed: %(who)s (%(outcome)s).",
            who=screens.client_name(_, conversation.pseudonym),
            outcome=_.gettext(screens.OUTCOME_NAMES[outcome]),
        )
    )


async def release_command(update: Update, context: PeerlineContext) -> None:
    """/release: back to the queue for someone else; the client is told."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation = await command_conversation(update, context, member, _)
    if conversation is None:
        return
    runtime = context.runtime
    async with runtime.transaction() as session:
        try:
            await queue.release(session, member.id, conversation.id)
        except queue.NotAllowed:  # the client ended it a moment earlier
            conversation = None
    if conversation is None:
        await update.effective_message.reply_text(_.gettext("This conversation is not open."))
        return
    async with runtime.transaction() as session:
        client_ = runtime.i18n.get(conversation.language)
        await relay.notice(
            session,
            runtime.keys,
            chat_ref=await clients.chat_ref(session, conversation.client_id),
            recipient=f"client:{conversation.client_id}",
            text=client_.gettext(
                "Your consultant had to step away. Your request is back in the queue: "
                "the next consultant will see everything you wrote."
            ),
        )
    await update.effective_message.reply_text(
        _.gettext(
            "%(who)s is back in the queue.", who=screens.client_name(_, conversation.pseudonym)
        )
    )


async def history_command(update: Update, context: PeerlineContext) -> None:
    """/history: the current client's earlier conversations (pseudonym only; audited)."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation = await command_conversation(update, context, member, _)
    if conversation is None:
        return
    async with context.runtime.transaction() as session:
        earlier = await queue.history(session, conversation.id, member.id)
    if not earlier:
        await update.effective_message.reply_text(_.gettext("No earlier conversations."))
        return
    lines = [screens.client_name(_, conversation.pseudonym)]
    for item in earlier:
        topic = _.gettext(screens.TOPIC_NAMES.get(item.topic, screens.TOPIC_NAMES["general"]))
        outcome = _.gettext(screens.OUTCOME_NAMES[item.outcome]) if item.outcome else "–"
        day = item.created_at.date().isoformat() if item.created_at else ""
        lines.append(f"{day} · {topic} · {outcome}")
    await update.effective_message.reply_text("\n".join(lines))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("close", close_command, filters=PRIVATE))
    app.add_handler(CommandHandler("release", release_command, filters=PRIVATE))
    app.add_handler(CommandHandler("history", history_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(close_button, pattern=pattern_for("close")))
