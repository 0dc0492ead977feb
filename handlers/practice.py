"""/practice: a consultant's practice conversation with a scripted pretend client.

A "Practice client" writes a typical first request (naloxone for a friend) in the consultant's
language and answers each of their replies with the next scripted line; after `len(REPLIES)`
answers, or /practice stop, a short debrief says what to do in real conversations.

It leaves no trace: no client, conversation, message, outbox row, report, count or rate limit.
The only state is the consultant's own typed input (`awaiting.Practice`, on their staff row, so
a restart or a second process keeps it, and it lapses like any input). What a plain message
means is decided by the dispatcher (handlers/dispatch.py, tier 2b): a real conversation wins.
"""

from __future__ import annotations

from typing import cast

from telegram import Message, Update
from telegram.ext import Application, CommandHandler

from bot import awaiting
from bot.i18n import N_, Translator
from bot.services import queue, staff
from bot.services.staff import StaffView
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, escape
from handlers.door import drop_input, visitor
from handlers.staff_common import require_staff, staff_translator

# What the pretend client writes first, then after each of the consultant's answers.
OPENING = (
    N_("Hello. My friend uses opioids and I am scared he will overdose."),
    N_("Where can I get naloxone? I do not want anyone to know it is for him."),
)
REPLIES = (
    N_("Thank you. Is it free? Do I need a prescription?"),
    N_("And what do I do if he stops breathing?"),
    N_("Thank you, that helps a lot. I think that is all for now."),
)


def client_says(_: Translator, line: str) -> str:
    return "👤 <b>" + escape(_.gettext("Practice client")) + "</b>\n" + escape(_.gettext(line))


def intro(_: Translator) -> str:
    return _.gettext(
        "🎓 <b>Practice conversation</b>\n"
        "A pretend client will write to you as a real one would. Nothing here reaches a real "
        "person, the queue or the reports. Answer as you would in a real conversation: just "
        "write. /practice stop ends it."
    )


def debrief(_: Translator) -> str:
    return _.gettext(
        "✅ <b>Practice over.</b> In a real conversation:\n"
        "• Reply to the client's message to answer exactly that client (with one open "
        "conversation you can just write).\n"
        "• Urgent requests are marked 🚨: give the emergency number and first aid first; if it "
        "is too hard, ask a supervisor (🆘).\n"
        "• /close when you are done, and choose the outcome; /release puts the conversation "
        "back in the queue.\n"
        "/duty on when you are ready to receive requests."
    )


async def practice(update: Update, context: PeerlineContext) -> None:
    """/practice starts it; /practice stop ends it with the debrief."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    message = cast(Message, update.effective_message)  # a command in a private chat
    if (context.args or [""])[0].lower() == "stop":
        if member.practice is None:
            await message.reply_text(_.gettext("You are not in a practice conversation."))
            return
        await _set(context, member, None)
        await message.reply_text(debrief(_), parse_mode="HTML")
        return
    async with context.runtime.transaction() as session:
        held = await queue.active_for_staff(session, member.id)
    if held:
        await message.reply_text(
            _.gettext(
                "Practice is for quiet moments: you hold an open conversation, and what you "
                "write goes to that client. Close or release it first."
            )
        )
        return
    if member.awaiting is not None:  # a post's text left open must not be lost silently
        await drop_input(update, context, await visitor(update, context))
    await _set(context, member, awaiting.Practice(0))
    await message.reply_text(intro(_), parse_mode="HTML")
    for line in OPENING:
        await message.reply_text(client_says(_, line), parse_mode="HTML")


async def answer(
    update: Update, context: PeerlineContext, member: StaffView, message: Message
) -> None:
    """The consultant answered the pretend client: the next scripted line, or the end."""
    assert member.practice is not None
    _ = staff_translator(context, member)
    step = member.practice.step
    if step < len(REPLIES):
        await message.reply_text(client_says(_, REPLIES[step]), parse_mode="HTML")
    if step + 1 < len(REPLIES):
        await _set(context, member, awaiting.Practice(step + 1))
        return
    await _set(context, member, None)
    await message.reply_text(debrief(_), parse_mode="HTML")


async def _set(
    context: PeerlineContext, member: StaffView, value: awaiting.Practice | None
) -> None:
    async with context.runtime.transaction() as session:
        await staff.set_awaiting(session, member.id, value)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("practice", practice, filters=PRIVATE_MESSAGE))
