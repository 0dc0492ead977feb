"""Supervisors' live desk: /desk shows the evening on one screen; a supervisor can join a
conversation silently, whisper to its consultant, and take it over.

Silent means silent: nothing here ever writes to the client's chat, except a take-over,
after which the supervisor is the one answering and the client is told, as for any
hand-over. The consultant always knows: a whisper is theirs alone (handlers/whisper.py), a
take-over is said.
"""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import DeskRefresh, Join, encode, pattern_for
from bot.i18n import Translator
from bot.services import desk, handover, queue, rota
from bot.services.desk import Held, Overview
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, callback_of, escape
from handlers.staff_common import require_staff, staff_translator


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
        rows.append([Button(label, callback_data=encode(Join(held.conversation_id, action)))])
    rows.append([Button("🔄 " + _.gettext("Refresh"), callback_data=encode(DeskRefresh()))])
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
    take = encode(Join(held.conversation_id, "take"))
    leave = encode(Join(held.conversation_id, "out"))
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
    pressed = callback_of(update, Join)
    conversation_id, action = pressed.conversation_id, pressed.action
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
    """The supervisor now holds the conversation (bot/services/handover.py tells the client
    and the consultant)."""
    runtime = context.runtime
    query = update.callback_query
    assert query is not None and update.effective_message is not None
    _ = staff_translator(context, member)
    refusal = None
    async with runtime.transaction() as session:
        try:
            moved = await handover.take_over(session, runtime, member, conversation_id)
        except queue.AtCapacity:
            refusal = _.gettext("You already have as many open conversations as you set.")
        except queue.NotAllowed:
            refusal = _.gettext("This conversation is not open, or it is yours.")
    await answer_query(update, context)
    if refusal is not None:
        await update.effective_message.reply_text(refusal)
        return
    await update.effective_message.reply_text(
        _.gettext(
            "You have taken over %(who)s. What you write here now goes to them; the consultant "
            "was told. /close when you are done.",
            who=escape(screens.client_name(_, moved.conversation.pseudonym)),
        )
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("desk", show_desk, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(refresh, pattern=pattern_for(DeskRefresh)))
    app.add_handler(CallbackQueryHandler(join_button, pattern=pattern_for(Join)))
