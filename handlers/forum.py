"""Staff forum mode: what staff write in a conversation's topic goes to the client.

Writing in the topic of a waiting request takes it (atomically, like /take); a topic held by
a colleague is refused politely. /close in the topic asks for the outcome there.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.callbacks import Close, encode
from bot.services import forum_topics, handover, queue, staff
from handlers import consultant_relay, screens
from handlers.common import PeerlineContext, incoming_from, user_id_of
from handlers.staff_common import message_of, staff_translator


async def topic_message(update: Update, context: PeerlineContext) -> None:
    """A staff member's message in a conversation's topic: take if waiting, then relay."""
    incoming = incoming_from(update)
    message, user = update.effective_message, update.effective_user
    if incoming is None or message is None or user is None or not message.is_topic_message:
        return  # a channel's automatic forward, or chatter outside the topics
    thread = message.message_thread_id
    if thread is None:
        return
    runtime = context.runtime
    refusal = None
    async with runtime.transaction() as session:
        member = await staff.find_by_telegram(session, runtime.keys, user.id)
        conversation = await forum_topics.by_forum_topic(session, thread)
        if member is None or conversation is None:
            return  # not staff, or not a conversation's topic: ordinary group chatter
        if conversation.status == "waiting":
            try:  # the topic shows the notes and messages already: no replay
                taken = await handover.take(session, runtime, member, conversation.id, replay=False)
            except (queue.AtCapacity, queue.NotAllowed):
                taken, refusal = None, "cannot"
            conversation = taken.conversation if taken is not None else None
            if conversation is None and refusal is None:
                refusal = "taken"
        elif conversation.staff_id != member.id:
            conversation, refusal = None, "taken"
        if conversation is not None:
            await consultant_relay.answer_client(
                context, session, conversation, member, incoming, mirror=False
            )
    if refusal is not None:
        _ = staff_translator(context, member)
        await message.reply_text(
            _.gettext(
                "This was not sent: another consultant has this conversation, or you "
                "cannot take more now."
            )
        )
        return


async def close_in_topic(update: Update, context: PeerlineContext) -> None:
    """/close in a topic: the outcome buttons, for the consultant who holds it."""
    message = message_of(update)
    runtime = context.runtime
    async with runtime.transaction() as session:
        member = await staff.find_by_telegram(session, runtime.keys, user_id_of(update))
        conversation = await forum_topics.by_forum_topic(session, message.message_thread_id or 0)
    if member is None or conversation is None:
        return
    _ = staff_translator(context, member)
    if conversation.staff_id != member.id:
        await message.reply_text(_.gettext("This conversation is not open."))
        return
    rows = [
        [
            Button(
                _.gettext(label),
                callback_data=encode(Close(conversation_id=conversation.id, outcome=outcome)),
            )
        ]
        for outcome, label in screens.OUTCOME_NAMES.items()
    ]
    await message.reply_text(
        _.gettext("How did it end? (%(who)s)", who=screens.client_name(_, conversation.pseudonym)),
        reply_markup=Keyboard(rows),
    )


def register(app: Application) -> None:
    group = app.bot_data.runtime.settings.staff_group_id
    if group is None:
        return
    in_group = filters.Chat(chat_id=group) & filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("close", close_in_topic, filters=in_group))
    app.add_handler(
        MessageHandler(in_group & ~filters.COMMAND & ~filters.StatusUpdate.ALL, topic_message)
    )
