"""Consultants: duty, the queue and taking a conversation.

Every command re-checks in the database that the sender is active staff: a removed
consultant loses access at once, and a forged button proves nothing.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
)

from bot.callbacks import Take, encode, pattern_for
from bot.services import handover, queue, staff_duty
from bot.services.staff import StaffView
from handlers import screens, supervision
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, callback_of, escape
from handlers.door import drop_input, visitor
from handlers.staff_common import require_staff, staff_translator

PRIVATE = PRIVATE_MESSAGE


def _message(update: Update) -> Message:
    """The command's message (these handlers are registered for private messages)."""
    assert update.effective_message is not None
    return update.effective_message


async def duty(update: Update, context: PeerlineContext) -> None:
    """/duty, /duty on, /duty off: whether new requests are sent to this consultant."""
    member = await require_staff(update, context)
    if member is None:
        return
    if member.role in queue.NON_CONSULTING_ROLES:
        _ = staff_translator(context, member)
        await _message(update).reply_text(
            _.gettext("Channel admins write posts (/post) and take no conversations.")
        )
        return
    wanted = {"on": True, "off": False}.get((context.args or [""])[0].lower())
    async with context.runtime.transaction() as session:
        member = await staff_duty.set_duty(session, member.id, wanted)
    _ = staff_translator(context, member)
    text = (
        _.gettext("You are on duty. New requests in your languages and topics will come here.")
        if member.on_duty
        else _.gettext("You are off duty. No new requests will be sent to you.")
    )
    await _message(update).reply_text(text)


async def show_queue(update: Update, context: PeerlineContext) -> None:
    """/queue: who is waiting that this consultant may take, urgent first."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    async with context.runtime.transaction() as session:
        waiting = await queue.waiting_for(session, member.id)
    if not waiting:
        await _message(update).reply_text(_.gettext("Nobody is waiting for you now."))
        return
    lines = [_.gettext("<b>Waiting: %(n)s</b>", n=len(waiting))]
    rows = []
    for conversation in waiting:
        mark = "🚨 " if conversation.urgent else ""
        lines.append(mark + screens.conversation_line(_, conversation))
        label = _.gettext("Take: %(who)s", who=screens.client_name(_, conversation.pseudonym))
        rows.append([Button(mark + label, callback_data=encode(Take(conversation.id)))])
    await _message(update).reply_text(
        "\n".join(lines), parse_mode="HTML", reply_markup=Keyboard(rows)
    )


async def take_command(update: Update, context: PeerlineContext) -> None:
    """/take: the next waiting conversation this consultant may take."""
    member = await require_staff(update, context)
    if member is not None:
        await take(update, context, member, None)


async def take_button(update: Update, context: PeerlineContext) -> None:
    member = await require_staff(update, context)
    if member is not None:
        await answer_query(update, context)
        await take(update, context, member, callback_of(update, Take).conversation_id)


async def take(
    update: Update, context: PeerlineContext, member: StaffView, conversation_id: int | None
) -> None:
    """Claim atomically; tell the client who joined; pass on what they wrote while waiting."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    full = False
    async with runtime.transaction() as session:
        try:
            taken = await handover.take(session, runtime, member, conversation_id)
        except queue.AtCapacity:
            taken, full = None, True
    if taken is None:
        text = (
            _.gettext("You already have as many open conversations as you set.")
            if full
            else _.gettext("Nothing to take: someone else took it, or nobody is waiting for you.")
        )
        await _message(update).reply_text(text)
        return
    conversation = taken.conversation
    if member.awaiting is not None:
        # What they write now is for the client: an input left open (a post's text) must not
        # swallow it. Closed, and said so, before the "you took" note.
        await drop_input(update, context, await visitor(update, context))
    # Where their next plain message goes: to this client only if it is their only one.
    text = (
        _.gettext(
            "You took %(who)s. /close when you are done, /release to put it back in the queue.",
            who=screens.conversation_line(_, conversation),
        )
        + "\n"
        + escape(screens.holding_line(_, list(taken.holding)))
    )
    if conversation.previous_id:
        text += "\n" + _.gettext("This client wrote to us before: /history")
    help_row = Keyboard([[supervision.ask_button(_, conversation.id)]])
    await _message(update).reply_text(text, parse_mode="HTML", reply_markup=help_row)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("duty", duty, filters=PRIVATE))
    app.add_handler(CommandHandler("queue", show_queue, filters=PRIVATE))
    app.add_handler(CommandHandler("take", take_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(take_button, pattern=pattern_for(Take)))
