"""/whisper, and replies to whispers: a supervisor reading along writes to the consultant
only, never to the client (bot/services/whispers.py). The dispatcher asks `reply_whisper`
first about any plain reply a staff member writes.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import Application, CommandHandler

from bot.services import desk, notify, outbox_sent, staff, whispers
from bot.services.relay import Incoming
from bot.services.staff import StaffView
from handlers import supervision
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, incoming_from
from handlers.staff_common import require_staff, staff_translator


async def whisper_command(update: Update, context: PeerlineContext) -> None:
    """/whisper TEXT: to the consultant of the conversation read along with (the one whose
    copy this replies to, or the only one)."""
    member = await require_staff(update, context)
    message = update.effective_message
    if member is None or message is None:
        return
    _ = staff_translator(context, member)
    words = (message.text or "").partition(" ")[2].strip()
    if not words:
        await message.reply_text(_.gettext("Write it after the command: /whisper your words"))
        return
    async with context.runtime.transaction() as session:
        target = await replied_target(session, member, message.reply_to_message)
        listening = await desk.joined(session, member.id)
        if target is None and len(listening) == 1 and listening[0].staff_id is not None:
            target = whispers.Target(listening[0].conversation_id, listening[0].staff_id)
    if target is None:
        text = (
            _.gettext("You are not reading along with any conversation. /desk")
            if not listening
            else _.gettext(
                "You read along with several conversations: reply to a copy from the one you mean."
            )
        )
        await message.reply_text(text)
        return
    incoming = incoming_from(update)
    assert incoming is not None
    whispered = Incoming(
        update_id=incoming.update_id,
        kind="text",
        text=words,
        source_message_id=incoming.source_message_id,
        chat_id=incoming.chat_id,
    )
    await send_whisper(update, context, member, target, whispered)


async def replied_target(
    session: AsyncSession, member: StaffView, reply_to: Message | None
) -> whispers.Target | None:
    if reply_to is None:
        return None
    message_id = await outbox_sent.find_by_sent_message(
        session, f"staff:{member.id}", reply_to.message_id
    )
    return await whispers.whisper_target(session, member.id, message_id) if message_id else None


async def reply_whisper(
    update: Update, context: PeerlineContext, member: StaffView, message: Message
) -> bool:
    """The dispatcher asks first: is this plain message a reply to a whisper, or a
    supervisor's reply to a copy of a conversation they read along with? Then it is a
    whisper (and never reaches a client). False: not one; the relay decides."""
    if message.reply_to_message is None:
        return False
    async with context.runtime.transaction() as session:
        target = await replied_target(session, member, message.reply_to_message)
    if target is None:
        return False
    if message.text is None:
        _ = staff_translator(context, member)
        await message.reply_text(_.gettext("A whisper can only be text."))
        return True
    incoming = incoming_from(update, message)
    assert incoming is not None
    await send_whisper(update, context, member, target, incoming)
    return True


async def send_whisper(
    update: Update,
    context: PeerlineContext,
    member: StaffView,
    target: whispers.Target,
    incoming: Incoming,
) -> None:
    """Recorded, then queued to the one member it is for; the sender is told who got it."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    async with runtime.transaction() as session:
        to = await staff.get(session, target.staff_id)
        message_id = None
        if to is not None and to.active:
            message_id = await whispers.record_whisper(
                session,
                runtime.keys,
                conversation_id=target.conversation_id,
                staff_id=member.id,
                incoming=incoming,
            )
        if message_id is not None and to is not None:
            pseudonym = await desk.pseudonym_of(session, target.conversation_id)
            their = staff_translator(context, to)
            text = supervision.whisper_text(their, member, pseudonym, incoming.text or "")
            await notify.staff(session, runtime, to, text, protect=True, message_id=message_id)
    assert update.effective_message is not None
    if to is None or not to.active:
        await update.effective_message.reply_text(_.gettext("Nobody to whisper to there now."))
    elif message_id is not None:
        await update.effective_message.reply_text(
            _.gettext("🤫 Whispered to %(name)s only.", name=to.display_name)
        )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("whisper", whisper_command, filters=PRIVATE_MESSAGE))
