"""Canned answers: /canned sends one to a client; supervisors /canned_add and /canned_delete.

Which conversation an answer goes to is decided as for a message (the client's message the
consultant replied to, else their only conversation, else asked); a button names the
conversation it was offered for and sends only there.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.callbacks import PickConversation, SendCanned, encode, pattern_for
from bot.i18n import Translator
from bot.ids import parse_id
from bot.services import canned, relay
from bot.services.canned import CannedView
from bot.services.queue import ConversationView
from bot.services.relay import Incoming
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import PeerlineContext, answer_query, callback_of, escape, query_of
from handlers.staff_common import (
    ask_which,
    command_text,
    find_target,
    message_of,
    picked,
    require_staff_translated,
    tell_client,
)

PRIVATE = filters.ChatType.PRIVATE


async def _supervisor(
    update: Update, context: PeerlineContext
) -> tuple[StaffView, Translator] | None:
    """The sender as a supervisor or admin with their translator, or None (and said why)."""
    found = await require_staff_translated(update, context)
    if found is None:
        return None
    member, _ = found
    if not member.can_supervise:
        await message_of(update).reply_text(
            _.gettext("Only supervisors and coordinators can do this.")
        )
        return None
    return member, _


async def canned_command(update: Update, context: PeerlineContext) -> None:
    """/canned: the answers in the conversation's language, as buttons that send one to that
    client (which conversation: as for a message, else asked)."""
    found = await require_staff_translated(update, context)
    if found is None:
        return
    member, _ = found
    async with context.runtime.transaction() as session:
        target = await find_target(session, member, message_of(update).reply_to_message)
    if target.conversation is None and target.active:
        await ask_which(update, context, _, target, "canned")
        return
    text, keyboard = await canned_screen(context, member, _, target.conversation)
    await message_of(update).reply_text(text, reply_markup=keyboard)


async def canned_picked(update: Update, context: PeerlineContext) -> None:
    """/canned with several conversations, then one chosen: its answers."""
    found = await require_staff_translated(update, context)
    if found is None:
        return
    member, _ = found
    chosen = await picked(update, context, member, _)
    if chosen is None:
        return
    text, keyboard = await canned_screen(context, member, _, chosen[0])
    await answer_query(update, context)
    await query_of(update).edit_message_text(text, reply_markup=keyboard)


async def canned_screen(
    context: PeerlineContext,
    member: StaffView,
    _: Translator,
    conversation: ConversationView | None,
) -> tuple[str, Keyboard | None]:
    language = conversation.language if conversation else member.languages[0]
    async with context.runtime.transaction() as session:
        answers = await canned.list_for(session, language)
    if not answers:
        return _.gettext("No canned answers in %(language)s yet.", language=language), None
    if conversation is None:
        text = _.gettext(
            "Canned answers (%(language)s). Choose a conversation first to send one.",
            language=language,
        )
        rows = [
            [Button(a.title, callback_data=encode(SendCanned(canned_id=a.id)))] for a in answers
        ]
        return text, Keyboard(rows)
    text = _.gettext(
        "Canned answers (%(language)s). Press one to send it to %(who)s.",
        language=language,
        who=screens.client_name(_, conversation.pseudonym),
    )
    rows = [
        [
            Button(
                a.title,
                callback_data=encode(SendCanned(canned_id=a.id, conversation_id=conversation.id)),
            )
        ]
        for a in answers
    ]
    return text, Keyboard(rows)


async def canned_button(update: Update, context: PeerlineContext) -> None:
    """A canned answer's button: record it as the consultant's message, queue it for the
    client of the conversation it was offered for."""
    found = await require_staff_translated(update, context)
    if found is None:
        return
    member, _ = found
    callback = callback_of(update, SendCanned)
    offered_for = callback.conversation_id
    runtime = context.runtime
    problem: str | None = None
    sent: tuple[ConversationView, CannedView] | None = None
    async with runtime.transaction() as session:
        target = await find_target(session, member, None)
        if offered_for is not None:  # offered for this conversation: only there
            conversation = next((c for c in target.active if c.id == offered_for), None)
        else:  # a button from before buttons named their conversation
            conversation = target.conversation
        answer = await canned.get(session, callback.canned_id)
        if conversation is None and offered_for is not None:
            problem = _.gettext("That conversation is no longer yours.")
        elif conversation is None:
            problem = _.gettext("Which conversation? Choose one, or reply to a client's message.")
        elif answer is None:
            problem = _.gettext("This canned answer no longer exists.")
        elif answer.language != conversation.language:
            problem = _.gettext(
                "This answer is in %(language)s, but the conversation is in %(other)s.",
                language=answer.language,
                other=conversation.language,
            )
        else:
            await _send(update, context, session, member, conversation, answer)
            sent = conversation, answer
    if sent is None:
        await answer_query(update, context, problem, alert=True)
        return
    await answer_query(update, context)
    await message_of(update).reply_text(
        _.gettext(
            "Sent to %(who)s: %(title)s",
            who=screens.client_name(_, sent[0].pseudonym),
            title=sent[1].title,
        )
    )


async def _send(
    update: Update,
    context: PeerlineContext,
    session: AsyncSession,
    member: StaffView,
    conversation: ConversationView,
    answer: CannedView,
) -> None:
    """Recorded as the consultant's message and queued for the client, once: a second
    delivery of the same press records nothing and sends nothing."""
    chat = update.effective_chat
    assert chat is not None  # a button on the bot's own message in a private chat
    message_id = await relay.record(
        session,
        context.runtime.keys,
        conversation_id=conversation.id,
        author="staff",
        incoming=Incoming(
            update_id=update.update_id,
            kind="text",
            text=answer.body,
            source_message_id=0,
            chat_id=chat.id,
        ),
        staff_id=member.id,
    )
    if message_id is not None:
        await tell_client(context, session, conversation, escape(answer.body))


async def canned_add_command(update: Update, context: PeerlineContext) -> None:
    """/canned_add LANG Title | Body (supervisors and admins)."""
    found = await _supervisor(update, context)
    if found is None:
        return
    _ = found[1]
    head, sep, body = command_text(update).partition("|")
    language, _space, title = head.strip().partition(" ")
    try:
        if not sep:
            raise canned.CannedError("no |")
        async with context.runtime.transaction() as session:
            added = await canned.add(session, language=language, title=title, body=body)
    except canned.CannedError:
        await message_of(update).reply_text(
            _.gettext(
                "Usage: /canned_add LANG Title | Text of the answer\n"
                "LANG is ru, uk, kk or en; the title is at most %(max)s characters.",
                max=canned.TITLE_MAX,
            )
        )
        return
    await message_of(update).reply_text(
        _.gettext(
            "Saved canned answer %(id)s (%(language)s): %(title)s",
            id=added.id,
            language=added.language,
            title=added.title,
        )
    )


async def canned_delete_command(update: Update, context: PeerlineContext) -> None:
    """/canned_delete ID (supervisors and admins)."""
    found = await _supervisor(update, context)
    if found is None:
        return
    _ = found[1]
    arg = command_text(update).strip()
    canned_id = parse_id(arg)
    if canned_id is None:
        await message_of(update).reply_text(_.gettext("Usage: /canned_delete ID"))
        return
    async with context.runtime.transaction() as session:
        deleted = await canned.delete_answer(session, canned_id)
    if deleted:
        text = _.gettext("Deleted canned answer %(id)s.", id=arg)
    else:
        text = _.gettext("There is no canned answer %(id)s.", id=arg)
    await message_of(update).reply_text(text)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("canned", canned_command, filters=PRIVATE))
    app.add_handler(CommandHandler("canned_add", canned_add_command, filters=PRIVATE))
    app.add_handler(CommandHandler("canned_delete", canned_delete_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(canned_button, pattern=pattern_for(SendCanned)))
    app.add_handler(
        CallbackQueryHandler(canned_picked, pattern=pattern_for(PickConversation, "canned"))
    )
