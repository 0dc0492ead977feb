"""Consultant tools inside a conversation: /note, /transfer and /refer.

Every command and button re-checks in the database that the sender is active staff, and
acts only on a conversation that is active and theirs (checked in the same transaction as
the change), so a stale or forged button moves nothing.

- /note TEXT: a private note, stored encrypted like a message (author "note") and never sent
  to the client; whoever gets the conversation next sees the notes first (`show_notes`).
- /transfer: to a role (back to the queue; only that role may take it) or to a colleague on
  duty (stays open, with them; the client is told who continues).
- /refer: sends the client up to three directory contacts of a type, in their language, and
  records the type for the report (`Conversation.outcome_detail`, kept by /close).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import encode, parse, pattern_for
from bot.dbtypes import clean_text
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services import clients, directory, queue, relay, staff, staff_duty
from bot.services.directory import ServiceCard
from bot.services.queue import ConversationView
from bot.services.relay import Incoming
from bot.services.staff import StaffView
from handlers import handover, screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, escape
from handlers.intake import notify_staff
from handlers.staff_common import command_conversation, pick, require_staff, staff_translator

PRIVATE = PRIVATE_MESSAGE
# A note is shown under a header in one Telegram message (at most 4096 characters).
NOTE_MAX = 3500
# The roles a conversation can be handed to (supervisors and admins take from any queue).
TRANSFER_ROLES = ("lawyer", "psychologist", "medic", "peer")
MAX_COLLEAGUE_BUTTONS = 20
REFER_CARDS = 3
MESSAGE_MAX = 4096


# --- Shared --------------------------------------------------------------------------------


async def _edit(update: Update, context: PeerlineContext, text: str) -> None:
    await answer_query(update, context)
    await update.callback_query.edit_message_text(text, parse_mode="HTML")


def _role_name(_: Translator, role: str) -> str:
    return _.gettext(screens.ROLE_NAMES.get(role, screens.ROLE_NAMES["peer"]))


def _service_name(runtime: Runtime, service_type: str, language: str) -> str:
    """A service type as the directory menu names it ("OST sites")."""
    try:
        return runtime.content.button(f"svc_{service_type}", language)
    except KeyError:
        return service_type


async def _tell_client(
    context: PeerlineContext, session: AsyncSession, conversation: ConversationView, text: str
) -> None:
    runtime = context.runtime
    await relay.notice(
        session,
        runtime.keys,
        chat_ref=await clients.chat_ref(session, conversation.client_id),
        recipient=f"client:{conversation.client_id}",
        text=text,
        protect_content=runtime.settings.protect_content,
    )


async def _holding(context: PeerlineContext, member: StaffView, _: Translator) -> str:
    """Where the member's next plain message goes, after a hand-over."""
    async with context.runtime.transaction() as session:
        return screens.holding_line(_, await queue.active_for_staff(session, member.id))


# --- /note ---------------------------------------------------------------------------------


def _note_text(message: Message) -> str:
    parts = (message.text or "").split(maxsplit=1)
    return clean_text(parts[1]).strip() if len(parts) > 1 else ""


async def note_command(update: Update, context: PeerlineContext) -> None:
    """/note TEXT: a private note on the conversation, for whoever takes it next."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    message = update.effective_message
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
    await _edit(update, context, escape(_note_saved(_, conversation)))


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
        if await relay.find_recorded(
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


# --- /transfer -----------------------------------------------------------------------------


async def transfer_command(update: Update, context: PeerlineContext) -> None:
    """/transfer: buttons to hand the conversation to a role or a colleague on duty."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation = await command_conversation(update, context, member, _, "transfer")
    if conversation is None:
        return
    text, keyboard = await transfer_screen(context, member, _, conversation)
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def transfer_picked(update: Update, context: PeerlineContext) -> None:
    choice = await pick(update, context)
    if choice is None:
        return
    member, _ = choice.member, choice.translator
    text, keyboard = await transfer_screen(context, member, _, choice.conversation)
    await answer_query(update, context)
    await update.callback_query.edit_message_text(text, reply_markup=keyboard)


async def transfer_screen(
    context: PeerlineContext, member: StaffView, _: Translator, conversation: ConversationView
) -> tuple[str, Keyboard]:
    async with context.runtime.transaction() as session:
        colleagues = [
            s
            for s in await staff.list_staff(session)
            if s.on_duty and s.id != member.id and conversation.language in s.languages
        ][:MAX_COLLEAGUE_BUTTONS]
    roles = [
        Button("→ " + _role_name(_, role), callback_data=encode("xfr", conversation.id, role))
        for role in TRANSFER_ROLES
    ]
    rows = [roles[i : i + 2] for i in range(0, len(roles), 2)]
    for colleague in colleagues:
        label = f"👤 {colleague.display_name} ({_role_name(_, colleague.role)})"
        rows.append([Button(label, callback_data=encode("xto", conversation.id, colleague.id))])
    text = _.gettext(
        "Hand %(who)s over. To a role: back to the queue, only for that role. "
        "To a colleague on duty: it stays open, with them. "
        "They see your notes first: write a /note before, if they should know something.",
        who=screens.client_name(_, conversation.pseudonym),
    )
    return text, Keyboard(rows)


async def transfer_to_role(update: Update, context: PeerlineContext) -> None:
    """A role button: back to the queue for that role; the client and that role's staff
    on duty are told."""
    member = await require_staff(update, context)
    if member is None:
        return
    callback = parse(update.callback_query.data)
    conversation_id, role = int(callback.args[0]), callback.args[1]
    _ = staff_translator(context, member)
    runtime = context.runtime
    wanted: list[StaffView] = []
    async with runtime.transaction() as session:
        try:
            conversation = await queue.transfer(session, member.id, conversation_id, to_role=role)
        except queue.NotAllowed:  # closed, released or handed over meanwhile; not theirs
            conversation = None
        if conversation is not None:
            client_ = runtime.i18n.get(conversation.language)
            await _tell_client(
                context,
                session,
                conversation,
                client_.gettext(
                    "Your consultant handed your request to a colleague (%(role)s). It is back "
                    "in the queue: they will see everything you wrote and answer here.",
                    role=_role_name(client_, role),
                ),
            )
            on_duty = await staff_duty.on_duty_for(
                session, language=conversation.language, topic=conversation.topic, urgent=True
            )
            wanted = [
                s
                for s in on_duty
                if s.role == role and conversation.language in s.languages and s.id != member.id
            ]
            await notify_staff(context, session, conversation, wanted)
    if conversation is None:
        await _edit(update, context, escape(_.gettext("This conversation is not open.")))
        return
    who = screens.client_name(_, conversation.pseudonym)
    text = _.gettext(
        "%(who)s is back in the queue, only for: %(role)s.", who=who, role=_role_name(_, role)
    )
    if not wanted:
        text += "\n" + _.gettext("Nobody of this role is on duty now: it waits for the next one.")
    await _edit(
        update, context, escape("\n".join(filter(None, (text, await _holding(context, member, _)))))
    )


async def transfer_to_person(update: Update, context: PeerlineContext) -> None:
    """A colleague button: the conversation stays open, now theirs. They get the notes and
    the client's messages; the client is told who continues."""
    member = await require_staff(update, context)
    if member is None:
        return
    callback = parse(update.callback_query.data)
    conversation_id, target_id = int(callback.args[0]), int(callback.args[1])
    _ = staff_translator(context, member)
    runtime = context.runtime
    conversation, problem = None, None
    async with runtime.transaction() as session:
        target = await staff.get(session, target_id)
        if target is None or not target.active or not target.on_duty:
            problem = _.gettext("This colleague is not on duty any more.")
        else:
            try:
                conversation = await queue.transfer(
                    session, member.id, conversation_id, to_staff_id=target_id
                )
            except queue.AtCapacity:
                problem = _.gettext(
                    "%(name)s has no room for another conversation now.", name=target.display_name
                )
            except queue.NotAllowed:
                problem = _.gettext("This conversation is not open.")
        if conversation is not None:
            assert target is not None
            await _hand_over(context, session, conversation, member, target)
    if conversation is None:
        await _edit(update, context, escape(problem or ""))
        return
    text = _.gettext(
        "%(who)s is now with %(name)s.",
        who=screens.client_name(_, conversation.pseudonym),
        name=target.display_name,
    )
    await _edit(
        update, context, escape("\n".join(filter(None, (text, await _holding(context, member, _)))))
    )


async def _hand_over(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    member: StaffView,
    target: StaffView,
) -> None:
    """Tell the client who continues, and give the colleague the notes and the messages."""
    runtime = context.runtime
    client_ = runtime.i18n.get(conversation.language)
    await _tell_client(
        context,
        session,
        conversation,
        client_.gettext(
            "<b>%(name)s</b> (%(role)s) continues this conversation with you. Write here as "
            "before: they do not see your name or your account.",
            name=escape(target.display_name),
            role=_role_name(client_, target.role),
        ),
    )
    _ = staff_translator(context, target)
    text = _.gettext(
        "<b>%(name)s handed a conversation over to you:</b> %(conversation)s\n"
        "Their notes and the client's messages follow. /close when you are done.",
        name=escape(member.display_name),
        conversation=screens.conversation_line(_, conversation),
    )
    # Where their next plain message goes now: never a silent switch.
    holding = screens.holding_line(_, await queue.active_for_staff(session, target.id))
    await relay.notice(
        session,
        runtime.keys,
        chat_ref=await staff.chat_ref(session, target.id),
        recipient=f"staff:{target.id}",
        text="↪️ " + text + "\n" + escape(holding),
    )
    await handover.show_notes(context, session, conversation, target)
    await handover.relay_client_messages(context, session, conversation, target)


# --- /refer --------------------------------------------------------------------------------


async def refer_command(update: Update, context: PeerlineContext) -> None:
    """/refer: the directory's service types in the client's country, as buttons."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation = await command_conversation(update, context, member, _, "refer")
    if conversation is None:
        return
    text, keyboard = await refer_screen(context, _, conversation)
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def refer_picked(update: Update, context: PeerlineContext) -> None:
    choice = await pick(update, context)
    if choice is None:
        return
    _ = choice.translator
    text, keyboard = await refer_screen(context, _, choice.conversation)
    await answer_query(update, context)
    await update.callback_query.edit_message_text(text, reply_markup=keyboard)


async def refer_screen(
    context: PeerlineContext, _: Translator, conversation: ConversationView
) -> tuple[str, Keyboard | None]:
    runtime = context.runtime
    async with runtime.transaction() as session:
        counts = await directory.count_by_type(session, conversation.country, None)
    available = [(kind, n) for kind, n in counts.items() if n]
    if not available:
        return _.gettext("The directory has no services for this client's country yet."), None
    rows = [
        [
            Button(
                f"{_service_name(runtime, kind, _.language)} ({n})",
                callback_data=encode("ref", conversation.id, kind),
            )
        ]
        for kind, n in available
    ]
    text = _.gettext(
        "Which services should %(who)s get? They receive up to %(n)s contacts of that kind "
        "in their language.",
        who=screens.client_name(_, conversation.pseudonym),
        n=REFER_CARDS,
    )
    return text, Keyboard(rows)


def referral_text(
    _: Translator,
    runtime: Runtime,
    service_type: str,
    services: Sequence[ServiceCard],
    language: str,
) -> tuple[str, int]:
    """The client's message: what it is, then the cards that fit in one message; how many."""
    text = f"<b>{escape(_service_name(runtime, service_type, language))}</b>\n" + _.gettext(
        "Your consultant sent you these contacts. Call before you go: opening hours and "
        "contacts can change."
    )
    shown = 0
    for service in services:
        more = "\n\n" + screens.card(_, runtime, service, language)
        if len(text) + len(more) > MESSAGE_MAX:
            break
        text += more
        shown += 1
    return text, shown


async def refer_button(update: Update, context: PeerlineContext) -> None:
    """A service type button: send the client its first contacts, record the referral."""
    member = await require_staff(update, context)
    if member is None:
        return
    callback = parse(update.callback_query.data)
    conversation_id, service_type = int(callback.args[0]), callback.args[1]
    _ = staff_translator(context, member)
    if service_type not in directory.SERVICE_TYPES:
        await answer_query(update, context, _.gettext("This button is out of date."))
        return
    runtime = context.runtime
    sent: Sequence[ServiceCard] = ()
    async with runtime.transaction() as session:
        mine = {c.id: c for c in await queue.active_for_staff(session, member.id)}
        conversation = mine.get(conversation_id)
        if conversation is not None:
            page = await directory.find_services(
                session, service_type=service_type, country=conversation.country, limit=REFER_CARDS
            )
            client_ = runtime.i18n.get(conversation.language)
            text, shown = referral_text(
                client_, runtime, service_type, page.items, conversation.language
            )
            sent = page.items[:shown]
            if sent:
                await _tell_client(context, session, conversation, text)
                # Kept by /close: a "referred" outcome is then counted with its service type.
                await queue.set_outcome_detail(session, member.id, conversation.id, service_type)
                await queue.audit(session, member.id, "refer", conversation.id, service_type)
    if conversation is None:
        await _edit(update, context, escape(_.gettext("This conversation is not open.")))
        return
    if not sent:
        text = _.gettext("The directory has no services for this client's country yet.")
        await _edit(update, context, escape(text))
        return
    lines = [
        escape(
            _.gettext(
                "Sent to %(who)s: %(services)s.",
                who=screens.client_name(_, conversation.pseudonym),
                services=_service_name(runtime, service_type, _.language),
            )
        )
    ]
    lines += ["• " + escape(service.name) for service in sent]
    await _edit(update, context, "\n".join(lines))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("note", note_command, filters=PRIVATE))
    app.add_handler(CommandHandler("transfer", transfer_command, filters=PRIVATE))
    app.add_handler(CommandHandler("refer", refer_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(transfer_to_role, pattern=pattern_for("xfr")))
    app.add_handler(CallbackQueryHandler(transfer_to_person, pattern=pattern_for("xto")))
    app.add_handler(CallbackQueryHandler(refer_button, pattern=pattern_for("ref")))
    app.add_handler(CallbackQueryHandler(note_picked, pattern=pattern_for("on", "note")))
    app.add_handler(CallbackQueryHandler(transfer_picked, pattern=pattern_for("on", "transfer")))
    app.add_handler(CallbackQueryHandler(refer_picked, pattern=pattern_for("on", "refer")))
