"""Care for consultants: "🆘 Ask a supervisor" (a button in every conversation, or /help_me),
and the answers to the debrief after an urgent conversation and to the rest reminder (talk
to a supervisor, take a break, go off duty).

A call for a supervisor names the conversation by pseudonym and topic only, with a button to
join it silently; a supervisor's reply to the call reaches the consultant alone.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import AskSupervisor, CareAnswer, Join, encode, pattern_for
from bot.services import care, notify, queue, rota, staff_duty, whispers
from bot.services.queue import ConversationView
from bot.services.relay import Incoming
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, callback_of, escape
from handlers.staff_common import find_target, require_staff, staff_translator


async def help_me(update: Update, context: PeerlineContext) -> None:
    """/help_me: call a supervisor about the conversation in hand (replied to, or their only
    one), or about none in particular."""
    member = await require_staff(update, context)
    message = update.effective_message
    if member is None or message is None:
        return
    async with context.runtime.transaction() as session:
        conversation = (await find_target(session, member, message.reply_to_message)).conversation
    await call_supervisors(update, context, member, conversation)


async def ask_button(update: Update, context: PeerlineContext) -> None:
    """🆘 Ask a supervisor, under a conversation."""
    member = await require_staff(update, context)
    query = update.callback_query
    if member is None or query is None:
        return
    conversation_id = callback_of(update, AskSupervisor).conversation_id
    async with context.runtime.transaction() as session:
        mine = {c.id: c for c in await queue.active_for_staff(session, member.id)}
    await answer_query(update, context)
    await call_supervisors(update, context, member, mine.get(conversation_id))


async def call_supervisors(
    update: Update,
    context: PeerlineContext,
    member: StaffView,
    conversation: ConversationView | None,
    *,
    after: bool = False,
) -> None:
    """Ping the supervisors on duty (or all of them): about an open conversation, with a
    button to join it silently; `after` an urgent one closed, to talk. The consultant is
    told who was asked."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    async with runtime.transaction() as session:
        asked = await ping(context, session, update.update_id, member, conversation, after=after)
    assert update.effective_message is not None
    if not asked:
        text = _.gettext(
            "There is no other supervisor on the team to ask right now. If you need to step "
            "back, /release puts the conversation back in the queue."
        )
    elif after:
        text = _.gettext(
            "💛 A supervisor has been asked to get in touch with you. Thank you for what you "
            "did tonight."
        )
    else:
        text = _.gettext(
            "🆘 A supervisor has been asked and can read along to help you. Keep going as you "
            "are; you are not alone in this."
        )
    await update.effective_message.reply_text(text)


async def ping(
    context: PeerlineContext,
    session: AsyncSession,
    update_id: int,
    member: StaffView,
    conversation: ConversationView | None,
    *,
    after: bool,
) -> int:
    """Queue the call to each supervisor; how many. Recorded in the conversation as a
    whisper, so a supervisor's reply to it goes to this consultant only."""
    supervisors = await care.supervisors_to_ask(session, exclude=member.id)
    if not supervisors:
        return 0
    message_id = None
    if conversation is not None:
        message_id = await whispers.record_whisper(
            session,
            context.runtime.keys,
            conversation_id=conversation.id,
            staff_id=member.id,
            incoming=Incoming(update_id, "text", None, 0, 0),
        )
        if message_id is None:  # a redelivered update: already asked
            return len(supervisors)
    for supervisor in supervisors:
        _ = staff_translator(context, supervisor)
        name = escape(member.display_name)
        buttons = None
        if conversation is None:
            text = _.gettext("🆘 <b>%(name)s</b> asks for a supervisor.", name=name)
        elif after:
            text = _.gettext(
                "💛 <b>%(name)s</b> would like to talk after an urgent conversation (%(who)s). "
                "Reply here to write to them only.",
                name=name,
                who=escape(screens.client_name(_, conversation.pseudonym)),
            )
        else:
            text = _.gettext(
                "🆘 <b>%(name)s</b> asks for a supervisor in a conversation: %(line)s\n"
                "Join it silently to read along, or reply here to write to them only.",
                name=name,
                line=screens.conversation_line(_, conversation),
            )
            join = encode(Join(conversation.id, "in"))
            buttons = [[{"text": "👁 " + _.gettext("Join silently"), "callback_data": join}]]
        await notify.staff(
            session,
            context.runtime,
            supervisor,
            text,
            protect=True,
            message_id=message_id,
            buttons=buttons,
        )
    return len(supervisors)


async def care_button(update: Update, context: PeerlineContext) -> None:
    """The debrief's and the rest reminder's answers: talk, take a break, go off duty."""
    member = await require_staff(update, context)
    query = update.callback_query
    if member is None or query is None or update.effective_message is None:
        return
    pressed = callback_of(update, CareAnswer)
    action, conversation_id = pressed.choice, pressed.conversation_id
    runtime = context.runtime
    _ = staff_translator(context, member)
    await answer_query(update, context)
    if action == "talk":
        async with runtime.transaction() as session:
            conversation = await own_conversation(session, member, conversation_id)
        await call_supervisors(update, context, member, conversation, after=True)
        return
    async with runtime.transaction() as session:
        if action == "break":
            until = await care.take_break(session, member.id, runtime.settings.break_minutes)
        else:
            await staff_duty.set_duty(session, member.id, False)
    if action == "break":
        back = rota.local_now(runtime.settings.timezone, until).strftime("%H:%M")
        text = _.gettext(
            "☕ Take your time. You are off duty until %(time)s, then back on duty by "
            "yourself (/duty on to come back sooner). Your open conversations stay with you.",
            time=back,
        )
    else:
        text = _.gettext(
            "🌙 You are off duty. Thank you for your work today; rest well. Your open "
            "conversations stay with you."
        )
    await update.effective_message.reply_text(text)


async def own_conversation(
    session: AsyncSession, member: StaffView, conversation_id: int
) -> ConversationView | None:
    """A conversation this member held (closed or not), for a call to talk about it."""
    found = await queue.get(session, conversation_id) if conversation_id else None
    return found if found is not None and found.staff_id == member.id else None


def register(app: Application) -> None:
    app.add_handler(CommandHandler("help_me", help_me, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(ask_button, pattern=pattern_for(AskSupervisor)))
    app.add_handler(CallbackQueryHandler(care_button, pattern=pattern_for(CareAnswer)))
