"""A consultant's own settings: their weekly rota (/rota), how many conversations at once
(/cap) and the topics they take (/topics)."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.callbacks import ToggleTopic, encode, pattern_for
from bot.i18n import Translator
from bot.ids import parse_id
from bot.services import rota, staff, staff_duty
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import PeerlineContext, answer_query, callback_of, query_of
from handlers.staff_common import command_text, message_of, require_staff_translated

PRIVATE = filters.ChatType.PRIVATE


def _rota_usage(_: Translator, tz: str) -> str:
    return _.gettext(
        "Set your weekly on-call hours, for example:\n"
        "/rota mon-fri 10:00-18:00\n"
        "/rota mon-fri 10-18, sat 12-16\n"
        "/rota clear\n"
        "Days: mon tue wed thu fri sat sun. Times are %(tz)s time.",
        tz=tz,
    )


async def rota_command(update: Update, context: PeerlineContext) -> None:
    """/rota: show one's own slots; /rota <days> <hours>[, ...] sets them; /rota clear."""
    found = await require_staff_translated(update, context)
    if found is None:
        return
    member, _ = found
    tz = context.runtime.settings.timezone
    arg = " ".join(command_text(update).split()).lower()
    if not arg:
        async with context.runtime.transaction() as session:
            slots = await rota.slots_for(session, member.id)
        if slots:
            text = _.gettext("Your on-call hours: %(hours)s", hours=rota.summary(slots, _, tz))
        else:
            text = _.gettext("You have no on-call hours set.")
        await message_of(update).reply_text(text + "\n\n" + _rota_usage(_, tz))
        return
    try:
        slots = [] if arg == "clear" else rota.parse(arg)
    except rota.RotaError:
        await message_of(update).reply_text(
            _.gettext("I could not read that.") + "\n\n" + _rota_usage(_, tz)
        )
        return
    async with context.runtime.transaction() as session:
        slots = await rota.set_slots(session, member.id, slots)
    if slots:
        text = _.gettext("Saved. Your on-call hours: %(hours)s", hours=rota.summary(slots, _, tz))
    else:
        text = _.gettext("Your on-call hours are cleared.")
    await message_of(update).reply_text(text)


# --- Profile: load and topics --------------------------------------------------------------


async def cap_command(update: Update, context: PeerlineContext) -> None:
    """/cap N: at most N conversations at once (1-20)."""
    found = await require_staff_translated(update, context)
    if found is None:
        return
    member, _ = found
    arg = command_text(update).strip()
    usage = _.gettext(
        "Conversations at once: %(n)s. Change it with /cap N (1 to %(max)s).",
        n=member.max_active,
        max=staff_duty.MAX_ACTIVE_LIMIT,
    )
    cap = parse_id(arg)
    if cap is None or not 1 <= cap <= staff_duty.MAX_ACTIVE_LIMIT:
        await message_of(update).reply_text(usage)
        return
    async with context.runtime.transaction() as session:
        member = await staff_duty.set_profile(session, member.id, max_active=cap)
    await message_of(update).reply_text(
        _.gettext("Saved. Conversations at once: %(n)s.", n=member.max_active)
    )


def topics_screen(_: Translator, member: StaffView) -> tuple[str, Keyboard]:
    rows = []
    for topic in staff.STAFF_TOPICS:
        mark = "✅" if topic in member.topics else "▫️"
        name = _.gettext(screens.TOPIC_NAMES.get(topic, screens.TOPIC_NAMES["general"]))
        rows.append([Button(f"{mark} {name}", callback_data=encode(ToggleTopic(topic=topic)))])
    text = _.gettext(
        "The topics you take. Press one to switch it on or off: you may step away from "
        "topics that are hard for you. At least one stays on."
    )
    return text, Keyboard(rows)


async def topics_command(update: Update, context: PeerlineContext) -> None:
    found = await require_staff_translated(update, context)
    if found is None:
        return
    member, _ = found
    text, keyboard = topics_screen(_, member)
    await message_of(update).reply_text(text, reply_markup=keyboard)


async def topic_button(update: Update, context: PeerlineContext) -> None:
    found = await require_staff_translated(update, context)
    if found is None:
        return
    member, _ = found
    query = query_of(update)
    topic = callback_of(update, ToggleTopic).topic
    chosen = set(member.topics) ^ {topic}
    if not chosen:
        await answer_query(
            update, context, _.gettext("At least one topic must stay on."), alert=True
        )
        return
    async with context.runtime.transaction() as session:
        member = await staff_duty.set_profile(session, member.id, topics=chosen)
    await answer_query(update, context)
    text, keyboard = topics_screen(_, member)
    await query.edit_message_text(text, reply_markup=keyboard)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("rota", rota_command, filters=PRIVATE))
    app.add_handler(CommandHandler("cap", cap_command, filters=PRIVATE))
    app.add_handler(CommandHandler("topics", topics_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(topic_button, pattern=pattern_for(ToggleTopic)))
