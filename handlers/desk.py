"""Supervisors' live desk: /desk shows the evening on one screen; a supervisor can join a
conversation silently, whisper to its consultant, and take it over.

Silent means silent: nothing here ever writes to the client's chat, except a take-over,
after which the supervisor is the one answering and the client is told, as for any
hand-over. The consultant always knows: a whisper is theirs alone, a take-over is said.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import encode, parse, pattern_for
from bot.i18n import N_, Translator
from bot.services import clients, desk, notify, outbox, queue, rota, staff
from bot.services.desk import Held, Overview
from bot.services.relay import Incoming
from bot.services.staff import StaffView
from handlers import handover, screens, supervision
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, escape, incoming_from
from handlers.staff_common import require_staff, staff_translator

# What the client is told at a take-over: the same words as at a hand-over to a colleague.
CONTINUES = N_(
    "<b>%(name)s</b> (%(role)s) continues this conversation with you. Write here as "
    "before: they do not see your name or your account."
)


def desk_screen(_: Translator, view: Overview, now: datetime) -> tuple[str, Keyboard]:
    """Waiting, on duty, who holds what; a join (or leave) button per conversation."""
    lines = [_.gettext("<b>Desk</b> · %(time)s", time=now.strftime("%H:%M"))]
    if view.waiting:
        lines.append(
            _.gettext(
                "⏳ Waiting: %(n)s, the longest for %(minutes)s min",
                n=view.waiting,
                minutes=view.longest_wait or 0,
            )
        )
    else:
        lines.append(_.gettext("⏳ Nobody is waiting."))
    names = ", ".join(escape(name) for name in view.on_duty) or "–"
    lines.append(_.gettext("🟢 On duty: %(names)s", names=names))
    lines.append("")
    if not view.held:
        lines.append(_.gettext("No conversation is open now."))
    rows = []
    for held in view.held:
        lines.append(held_line(_, held))
        who = screens.client_name(_, held.pseudonym)
        if held.joined:
            label, action = "✖ " + _.gettext("Leave %(who)s", who=who), "out"
        else:
            label, action = "👁 " + _.gettext("Join %(who)s", who=who), "in"
        rows.append([Button(label, callback_data=encode("join", held.conversation_id, action))])
    rows.append([Button("🔄 " + _.gettext("Refresh"), callback_data=encode("desk", "show"))])
    return "\n".join(lines), Keyboard(rows)


def held_line(_: Translator, held: Held) -> str:
    """ "🚨 Anna: Client 482113 · OST · ru · 12 min 👁" for the desk."""
    topic = _.gettext(screens.TOPIC_NAMES.get(held.topic, screens.TOPIC_NAMES["general"]))
    minutes = _.gettext("%(minutes)s min", minutes=held.minutes)
    parts = [screens.client_name(_, held.pseudonym), topic, held.language, minutes]
    line = f"<b>{escape(held.staff_name)}</b>: " + escape(" · ".join(parts))
    return ("🚨 " if held.urgent else "• ") + line + (" 👁" if held.joined else "")


async def render(context: PeerlineContext, member: StaffView) -> tuple[str, Keyboard] | None:
    runtime = context.runtime
    async with runtime.transaction() as session:
        try:
            view = await desk.overview(session, member.id)
        except desk.NotSupervising:
            return None
    now = rota.local_now(runtime.settings.timezone)
    return desk_screen(staff_translator(context, member), view, now)


async def show_desk(update: Update, context: PeerlineContext) -> None:
    """/desk: the evening on one screen."""
    member = await require_staff(update, context)
    if member is None or update.effective_message is None:
        return
    screen = await render(context, member)
    if screen is not None:
        await update.effective_message.reply_text(screen[0], reply_markup=screen[1])


async def refresh(update: Update, context: PeerlineContext) -> None:
    """🔄 under the desk: the same screen, now."""
    member = await require_staff(update, context)
    query = update.callback_query
    if member is None or query is None:
        return
    screen = await render(context, member)
    await answer_query(update, context)
    if screen is not None:
        await query.edit_message_text(screen[0], reply_markup=screen[1])


def joined_screen(_: Translator, held: Held) -> tuple[str, Keyboard]:
    who = screens.client_name(_, held.pseudonym)
    text = _.gettext(
        "👁 You are reading along with %(who)s (%(name)s), silently: you will get a copy of "
        "what follows, both ways. The client does not know, and nothing you write goes to "
        "them. To write to %(name)s only, reply to a copy or send /whisper and your words.",
        who=escape(who),
        name=escape(held.staff_name),
    )
    take = encode("join", held.conversation_id, "take")
    leave = encode("join", held.conversation_id, "out")
    rows = [
        [Button(_.gettext("Take it over"), callback_data=take)],
        [Button(_.gettext("Leave"), callback_data=leave)],
    ]
    return text, Keyboard(rows)


async def join_button(update: Update, context: PeerlineContext) -> None:
    """👁 Join / ✖ Leave / Take it over, from the desk, a call for help or a join notice."""
    member = await require_staff(update, context)
    query = update.callback_query
    if member is None or query is None or update.effective_message is None:
        return
    callback = parse(query.data)
    assert callback is not None
    conversation_id, action = int(callback.args[0]), callback.args[1]
    _ = staff_translator(context, member)
    if action == "take":
        await take_over(update, context, member, conversation_id)
        return
    async with context.runtime.transaction() as session:
        if action == "in":
            held = await desk.join(session, member.id, conversation_id)
        else:
            left = await desk.leave(session, member.id, conversation_id)
            pseudonym = await desk.pseudonym_of(session, conversation_id)
    await answer_query(update, context)
    if action == "in" and held is None:
        await update.effective_message.reply_text(
            _.gettext("This conversation is not open, or it is yours.")
        )
    elif action == "in":
        assert held is not None
        text, keyboard = joined_screen(_, held)
        await update.effective_message.reply_text(text, reply_markup=keyboard)
    else:
        who = screens.client_name(_, pseudonym)
        text = (
            _.gettext("You have left %(who)s.", who=who)
            if left
            else _.gettext("You were not reading along with %(who)s.", who=who)
        )
        await update.effective_message.reply_text(text)


async def take_over(
    update: Update, context: PeerlineContext, member: StaffView, conversation_id: int
) -> None:
    """The supervisor now holds the conversation: the client is told someone continues, the
    consultant that the supervisor took over (and thanked)."""
    runtime = context.runtime
    query = update.callback_query
    assert query is not None and update.effective_message is not None
    _ = staff_translator(context, member)
    refusal = None
    async with runtime.transaction() as session:
        try:
            conversation, before = await desk.take_over(session, member.id, conversation_id)
        except queue.AtCapacity:
            refusal = _.gettext("You already have as many open conversations as you set.")
        except queue.NotAllowed:
            refusal = _.gettext("This conversation is not open, or it is yours.")
        if refusal is None:
            client_ = runtime.i18n.get(conversation.language)
            role = client_.gettext(screens.ROLE_NAMES.get(member.role, screens.ROLE_NAMES["peer"]))
            await relay_notice_to_client(context, session, conversation, client_, role, member)
            if before is not None and (previous := await staff.get(session, before)):
                their = staff_translator(context, previous)
                await supervision.staff_note(
                    context,
                    session,
                    previous,
                    "↪️ "
                    + their.gettext(
                        "%(name)s has taken over %(who)s. Thank you for your work with them; "
                        "you can let this one go.",
                        name=escape(member.display_name),
                        who=escape(screens.client_name(their, conversation.pseudonym)),
                    ),
                )
            await handover.show_notes(context, session, conversation, member)
    await answer_query(update, context)
    if refusal is not None:
        await update.effective_message.reply_text(refusal)
        return
    await update.effective_message.reply_text(
        _.gettext(
            "You have taken over %(who)s. What you write here now goes to them; the consultant "
            "was told. /close when you are done.",
            who=escape(screens.client_name(_, conversation.pseudonym)),
        )
    )


async def relay_notice_to_client(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: queue.ConversationView,
    client_: Translator,
    role: str,
    member: StaffView,
) -> None:
    """As for a hand-over: who continues with them (never that anyone read along)."""
    await notify.send(
        session,
        context.runtime.keys,
        chat_ref=await clients.chat_ref(session, conversation.client_id),
        recipient=f"client:{conversation.client_id}",
        text=client_.gettext(CONTINUES, name=escape(member.display_name), role=role),
        protect_content=context.runtime.settings.protect_content,
    )


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
            target = desk.Target(listening[0].conversation_id, listening[0].staff_id)
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
) -> desk.Target | None:
    if reply_to is None:
        return None
    message_id = await outbox.find_by_sent_message(
        session, f"staff:{member.id}", reply_to.message_id
    )
    return await desk.whisper_target(session, member.id, message_id) if message_id else None


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
    target: desk.Target,
    incoming: Incoming,
) -> None:
    """Recorded, then queued to the one member it is for; the sender is told who got it."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    async with runtime.transaction() as session:
        to = await staff.get(session, target.staff_id)
        message_id = None
        if to is not None and to.active:
            message_id = await desk.record_whisper(
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
            await supervision.staff_note(context, session, to, text, message_id=message_id)
    assert update.effective_message is not None
    if to is None or not to.active:
        await update.effective_message.reply_text(_.gettext("Nobody to whisper to there now."))
    elif message_id is not None:
        await update.effective_message.reply_text(
            _.gettext("🤫 Whispered to %(name)s only.", name=to.display_name)
        )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("desk", show_desk, filters=PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("whisper", whisper_command, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(refresh, pattern=pattern_for("desk")))
    app.add_handler(CallbackQueryHandler(join_button, pattern=pattern_for("join")))
