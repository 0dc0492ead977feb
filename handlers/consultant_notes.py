"""/note TEXT: a consultant's private note on a conversation, for whoever takes it next.

Stored encrypted like a message (author "note") and never sent to the client; whoever gets
the conversation next sees the notes first (`handover.show_notes`). Every command and button
re-checks that the sender is active staff and the conversation is open and theirs.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import PickConversation, pattern_for
from bot.dbtypes import clean_text
from bot.i18n import Translator
from bot.services import recorded, relay
from bot.services.queue import ConversationView
from bot.services.relay import Incoming
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, escape
from handlers.staff_common import (
    command_conversation,
    edit_pressed,
    message_of,
    pick,
    require_staff,
    staff_translator,
)

# A note is shown under a header in one Telegram message (at most 4096 characters).
NOTE_MAX = 3500


def _note_text(message: Message) -> str:
    parts = (message.text or "").split(maxsplit=1)
    return clean_text(parts[1]).strip() if len(parts) > 1 else ""


async def note_command(update: Update, context: PeerlineContext) -> None:
    """/note TEXT: a private note on the conversation, for whoever takes it next."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    message = message_of(update)
    text = _note_text(message)
    if not text:
        await message.reply_text(
            _.gettext(
                "Write the note after the command, e.g. /note Needs a lawyer in Kyiv. "
                "The client never sees notes; whoever gets the conversation next does."
            )
        )
        return
    if len(text) > NOTE_MAX:
        await message.reply_text(
            _.gettext("This note is too long: at most %(max)s characters.", max=NOTE_MAX)
        )
        return
    conversation = await command_conversation(update, context, member, _, "note")
    if conversation is None:
        return
    await save_note(update, context, member, conversation, message)
    await message.reply_text(_note_saved(_, conversation))


async def note_picked(update: Update, context: PeerlineContext) -> None:
    """/note with several conversations, then one chosen: the note is saved there."""
    choice = await pick(update, context)
    if choice is None:
        return
    member, _ = choice.member, choice.translator
    conversation, original = choice.conversation, choice.original
    await save_note(update, context, member, conversation, original)
    await edit_pressed(update, context, escape(_note_saved(_, conversation)))


def _note_saved(_: Translator, conversation: ConversationView) -> str:
    return _.gettext(
        "Note saved for %(who)s. The client does not see it; whoever gets the "
        "conversation next will.",
        who=screens.client_name(_, conversation.pseudonym),
    )


async def save_note(
    update: Update,
    context: PeerlineContext,
    member: StaffView,
    conversation: ConversationView,
    message: Message,
) -> None:
    """Recorded like a message (encrypted; a redelivered update or a second press is not
    stored twice), and never queued for the client."""
    runtime = context.runtime
    async with runtime.transaction() as session:
        if await recorded.find_recorded(
            session,
            author="note",
            chat_source_message_id=message.message_id,
            conversation_id=conversation.id,
        ):
            return
        await relay.record(
            session,
            runtime.keys,
            conversation_id=conversation.id,
            author="note",
            staff_id=member.id,
            incoming=Incoming(
                update_id=update.update_id,
                kind="text",
                text=_note_text(message),
                source_message_id=message.message_id,
                chat_id=message.chat.id,
            ),
        )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("note", note_command, filters=PRIVATE_MESSAGE))
    app.add_handler(
        CallbackQueryHandler(note_picked, pattern=pattern_for(PickConversation, "note"))
    )
