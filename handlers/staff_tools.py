"""A consultant's own tools: canned answers (/canned; supervisors /canned_add, /canned_delete),
their weekly rota (/rota), how many conversations at once (/cap) and their topics (/topics)."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.callbacks import encode, parse, pattern_for
from bot.i18n import Translator
from bot.ids import parse_id
from bot.services import canned, clients, relay, rota, staff, staff_duty
from bot.services.queue import ConversationView
from bot.services.relay import Incoming
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import PeerlineContext, answer_query, escape
from handlers.staff_common import ask_which, find_target, picked, require_staff, staff_translator

PRIVATE = filters.ChatType.PRIVATE


def _args_text(update: Update) -> str:
    """Everything after the command, line breaks kept (a canned body may have several)."""
    text = update.effective_message.text or ""
    return text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""


def _timezone(context: PeerlineContext) -> str:
    return context.runtime.settings.timezone


async def _staff_and_translator(
    update: Update, context: PeerlineContext
) -> tuple[StaffView | None, Translator | None]:
    member = await require_staff(update, context)
    return member, (staff_translator(context, member) if member else None)


async def _supervisor(update: Update, context: PeerlineContext):  # type: ignore[no-untyped-def]
    member, _ = await _staff_and_translator(update, context)
    if member is None or _ is None:
        return None, None
    if not member.can_supervise:
        await update.effective_message.reply_text(
            _.gettext("Only supervisors and coordinators can do this.")
        )
        return None, None
    return member, _


# --- Canned answers ------------------------------------------------------------------------


async def canned_command(update: Update, context: PeerlineContext) -> None:
    """/canned: the answers in the conversation's language, as buttons that send one to that
    client (which conversation: as for a message, else asked)."""
    member, _ = await _staff_and_translator(update, context)
    if member is None or _ is None:
        return
    async with context.runtime.transaction() as session:
        target = await find_target(session, member, update.effective_message.reply_to_message)
    if target.conversation is None and target.active:
        await ask_which(update, context, _, target, "canned")
        return
    text, keyboard = await canned_screen(context, member, _, target.conversation)
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def canned_picked(update: Update, context: PeerlineContext) -> None:
    """/canned with several conversations, then one chosen: its answers."""
    member, _ = await _staff_and_translator(update, context)
    if member is None or _ is None:
        return
    chosen = await picked(update, context, member, _)
    if chosen is None:
        return
    text, keyboard = await canned_screen(context, member, _, chosen[0])
    await answer_query(update, context)
    await update.callback_query.edit_message_text(text, reply_markup=keyboard)


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
        rows = [[Button(a.title, callback_data=encode("can", a.id))] for a in answers]
        return text, Keyboard(rows)
    text = _.gettext(
        "Canned answers (%(language)s). Press one to send it to %(who)s.",
        language=language,
        who=screens.client_name(_, conversation.pseudonym),
    )
    rows = [[Button(a.title, callback_data=encode("can", a.id, conversation.id))] for a in answers]
    return text, Keyboard(rows)


async def canned_button(update: Update, context: PeerlineContext) -> None:
    """A canned answer's button: record it as the consultant's message, queue it for the
    client of the conversation it was offered for."""
    member, _ = await _staff_and_translator(update, context)
    if member is None or _ is None:
        return
    callback = parse(update.callback_query.data)
    runtime = context.runtime
    problem: str | None = None
    async with runtime.transaction() as session:
        target = await find_target(session, member, None)
        if callback.args[1] is not None:  # offered for this conversation: only there
            wanted = int(callback.args[1])
            conversation = next((c for c in target.active if c.id == wanted), None)
        else:  # a button from before buttons named their conversation
            conversation = target.conversation
        answer = await canned.get(session, int(callback.arg))
        if conversation is None and callback.args[1] is not None:
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
            incoming = Incoming(
                update_id=update.update_id,
                kind="text",
                text=answer.body,
                source_message_id=0,
                chat_id=update.effective_chat.id,
            )
            message_id = await relay.record(
                session,
                runtime.keys,
                conversation_id=conversation.id,
                author="staff",
                incoming=incoming,
                staff_id=member.id,
            )
            if message_id is not None:  # None: this press was already handled
                await relay.notice(
                    session,
                    runtime.keys,
                    chat_ref=await clients.chat_ref(session, conversation.client_id),
                    recipient=f"client:{conversation.client_id}",
                    text=escape(answer.body),
                    protect_content=runtime.settings.protect_content,
                )
    if problem is not None:
        await answer_query(update, context, problem, alert=True)
        return
    await answer_query(update, context)
    await update.effective_message.reply_text(
        _.gettext(
            "Sent to %(who)s: %(title)s",
            who=screens.client_name(_, conversation.pseudonym),
            title=answer.title,
        )
    )


async def canned_add_command(update: Update, context: PeerlineContext) -> None:
    """/canned_add LANG Title | Body (supervisors and admins)."""
    member, _ = await _supervisor(update, context)
    if member is None or _ is None:
        return
    head, sep, body = _args_text(update).partition("|")
    language, _space, title = head.strip().partition(" ")
    try:
        if not sep:
            raise canned.CannedError("no |")
        async with context.runtime.transaction() as session:
            added = await canned.add(session, language=language, title=title, body=body)
    except canned.CannedError:
        await update.effective_message.reply_text(
            _.gettext(
                "Usage: /canned_add LANG Title | Text of the answer\n"
                "LANG is ru, uk, kk or en; the title is at most %(max)s characters.",
                max=canned.TITLE_MAX,
            )
        )
        return
    await update.effective_message.reply_text(
        _.gettext(
            "Saved canned answer %(id)s (%(language)s): %(title)s",
            id=added.id,
            language=added.language,
            title=added.title,
        )
    )


async def canned_delete_command(update: Update, context: PeerlineContext) -> None:
    """/canned_delete ID (supervisors and admins)."""
    member, _ = await _supervisor(update, context)
    if member is None or _ is None:
        return
    arg = _args_text(update).strip()
    canned_id = parse_id(arg)
    if canned_id is None:
        await update.effective_message.reply_text(_.gettext("Usage: /canned_delete ID"))
        return
    async with context.runtime.transaction() as session:
        deleted = await canned.delete_answer(session, canned_id)
    if deleted:
        text = _.gettext("Deleted canned answer %(id)s.", id=arg)
    else:
        text = _.gettext("There is no canned answer %(id)s.", id=arg)
    await update.effective_message.reply_text(text)


# --- Rota ----------------------------------------------------------------------------------


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
    member, _ = await _staff_and_translator(update, context)
    if member is None or _ is None:
        return
    tz = _timezone(context)
    arg = " ".join(_args_text(update).split()).lower()
    if not arg:
        async with context.runtime.transaction() as session:
            slots = await rota.slots_for(session, member.id)
        if slots:
            text = _.gettext("Your on-call hours: %(hours)s", hours=rota.summary(slots, _, tz))
        else:
            text = _.gettext("You have no on-call hours set.")
        await update.effective_message.reply_text(text + "\n\n" + _rota_usage(_, tz))
        return
    try:
        slots = [] if arg == "clear" else rota.parse(arg)
    except rota.RotaError:
        await update.effective_message.reply_text(
            _.gettext("I could not read that.") + "\n\n" + _rota_usage(_, tz)
        )
        return
    async with context.runtime.transaction() as session:
        slots = await rota.set_slots(session, member.id, slots)
    if slots:
        text = _.gettext("Saved. Your on-call hours: %(hours)s", hours=rota.summary(slots, _, tz))
    else:
        text = _.gettext("Your on-call hours are cleared.")
    await update.effective_message.reply_text(text)


# --- Profile: load and topics --------------------------------------------------------------


async def cap_command(update: Update, context: PeerlineContext) -> None:
    """/cap N: at most N conversations at once (1-20)."""
    member, _ = await _staff_and_translator(update, context)
    if member is None or _ is None:
        return
    arg = _args_text(update).strip()
    usage = _.gettext(
        "Conversations at once: %(n)s. Change it with /cap N (1 to %(max)s).",
        n=member.max_active,
        max=staff_duty.MAX_ACTIVE_LIMIT,
    )
    cap = parse_id(arg)
    if cap is None or not 1 <= cap <= staff_duty.MAX_ACTIVE_LIMIT:
        await update.effective_message.reply_text(usage)
        return
    async with context.runtime.transaction() as session:
        member = await staff_duty.set_profile(session, member.id, max_active=cap)
    await update.effective_message.reply_text(
        _.gettext("Saved. Conversations at once: %(n)s.", n=member.max_active)
    )


def topics_screen(_: Translator, member: StaffView) -> tuple[str, Keyboard]:
    rows = []
    for topic in staff.STAFF_TOPICS:
        mark = "✅" if topic in member.topics else "▫️"
        name = _.gettext(screens.TOPIC_NAMES.get(topic, screens.TOPIC_NAMES["general"]))
        rows.append([Button(f"{mark} {name}", callback_data=encode("tpc", topic))])
    text = _.gettext(
        "The topics you take. Press one to switch it on or off: you may step away from "
        "topics that are hard for you. At least one stays on."
    )
    return text, Keyboard(rows)


async def topics_command(update: Update, context: PeerlineContext) -> None:
    member, _ = await _staff_and_translator(update, context)
    if member is None or _ is None:
        return
    text, keyboard = topics_screen(_, member)
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def topic_button(update: Update, context: PeerlineContext) -> None:
    member, _ = await _staff_and_translator(update, context)
    if member is None or _ is None:
        return
    topic = parse(update.callback_query.data).arg
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
    await update.callback_query.edit_message_text(text, reply_markup=keyboard)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("canned", canned_command, filters=PRIVATE))
    app.add_handler(CommandHandler("canned_add", canned_add_command, filters=PRIVATE))
    app.add_handler(CommandHandler("canned_delete", canned_delete_command, filters=PRIVATE))
    app.add_handler(CommandHandler("rota", rota_command, filters=PRIVATE))
    app.add_handler(CommandHandler("cap", cap_command, filters=PRIVATE))
    app.add_handler(CommandHandler("topics", topics_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(canned_button, pattern=pattern_for("can")))
    app.add_handler(CallbackQueryHandler(canned_picked, pattern=pattern_for("on", "canned")))
    app.add_handler(CallbackQueryHandler(topic_button, pattern=pattern_for("tpc")))
