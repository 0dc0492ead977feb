"""What a consultant writes goes to exactly the client they mean, or nowhere yet.

The rule (issue 10), with no remembered "current" conversation to go wrong silently:
1. a reply to a client's message goes to that client's conversation;
2. otherwise, with exactly one open conversation, to it;
3. otherwise the bot asks which, under a reply to the message itself: one button per
   conversation (name, topic, the client's last line), and pressing one sends that very
   message there (dispatch.resolve_which reads it from the question's `reply_to_message`,
   so nothing is stored meanwhile). It is never "choose, then send again".
The same question comes when the message could be an answer or the input the consultant
started (e.g. a post's text).
"""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler

from bot import awaiting
from bot.callbacks import MessageFor, OldSwitch, encode, pattern_for
from bot.i18n import Translator
from bot.services import clients, relay
from bot.services.queue import ConversationView
from bot.services.relay import Incoming
from bot.services.staff import StaffView
from handlers import forum_common, supervision
from handlers.common import PeerlineContext, answer_query, incoming_from
from handlers.door import describe
from handlers.staff_common import (
    by_quote,
    choices,
    find_target,
    require_staff,
    several_text,
    staff_translator,
)


async def answer(
    update: Update, context: PeerlineContext, member: StaffView, message: Message
) -> bool:
    """A consultant's message while they hold conversations (the dispatcher's second tier).
    False when they hold none, so the dispatcher goes on to the input they started."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    async with runtime.transaction() as session:
        target = await find_target(session, member, message.reply_to_message)
        if not target.active:
            return False
        target = by_quote(_, target, message)
        pending = member.awaiting
        conversation = target.conversation
        if pending is not None and not target.by_reply:
            conversation = None  # an answer, or the input? Asked below, never guessed.
        incoming = incoming_from(update, message)
        if conversation is not None and incoming is not None:
            await answer_client(context, session, conversation, member, incoming)
    if incoming is None:
        await message.reply_text(
            _.gettext("This kind of message cannot be passed on. Please send text or a photo.")
        )
    elif conversation is None:
        if pending is not None and not target.by_reply:
            text = which_is_it_text(_, pending)
            keyboard = await choices(context, _, target.active, partial(MessageFor, "c"))
            rows = [*keyboard.inline_keyboard, [input_button(_, pending)]]
            keyboard = Keyboard(rows)
        else:
            text = _.gettext(
                "Not sent yet. Who is this message for? Press a client and it goes to them at once."
            )
            if target.several:
                text = several_text(_) + "\n" + text
            elif target.closed_reply:
                text = (
                    _.gettext("The conversation of the message you replied to is closed.")
                    + "\n"
                    + text
                )
            keyboard = await choices(context, _, target.active, partial(MessageFor, "c"))
        await message.reply_text(
            text, reply_markup=keyboard, reply_to_message_id=message.message_id
        )
    return True


async def answer_client(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    member: StaffView,
    incoming: Incoming,
    *,
    mirror: bool = True,
) -> int | None:
    """A consultant's message to their client: recorded, copied to the client, and (unless
    it was written in the staff-group topic itself) mirrored there. None for a redelivery."""
    runtime = context.runtime
    message_id = await relay.record(
        session,
        runtime.keys,
        conversation_id=conversation.id,
        author="staff",
        staff_id=member.id,
        incoming=incoming,
    )
    if message_id is None:
        return None
    await relay.to_client(
        session,
        runtime.keys,
        message_id=message_id,
        incoming=incoming,
        client_id=conversation.client_id,
        client_chat_ref=await clients.chat_ref(session, conversation.client_id),
        protect_content=runtime.settings.protect_content,
    )
    await supervision.mirror(context, session, conversation, message_id, incoming, by=member)
    if mirror:
        header = forum_common.staff_header(member.display_name)
        await forum_common.mirror(
            context, session, conversation, message_id, incoming, header=header
        )
    return message_id


def which_is_it_text(_: Translator, pending: awaiting.StaffInput) -> str:
    return _.gettext(
        "Not sent yet. Who is this message for? You hold a conversation and you are also "
        "writing %(what)s.",
        what=describe(_, pending),
    )


def input_button(_: Translator, pending: awaiting.StaffInput) -> Button:
    return Button("✏️ " + describe(_, pending)[:48], callback_data=encode(MessageFor("i")))


def no_conversation(_: Translator) -> str:
    """A consultant wrote while they hold no conversation (the dispatcher's fallback)."""
    return _.gettext("This message was not sent: you have no open conversation. /queue")


async def old_switch_button(update: Update, context: PeerlineContext) -> None:
    """A "write to …" button from before there was no current conversation: explain."""
    member = await require_staff(update, context)
    if member is None or update.callback_query is None:
        return
    _ = staff_translator(context, member)
    await answer_query(
        update,
        context,
        _.gettext(
            "Reply to a client's message to answer them. With one open conversation, just "
            "write; with several, I will ask who it is for."
        ),
        alert=True,
    )


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(old_switch_button, pattern=pattern_for(OldSwitch)))
