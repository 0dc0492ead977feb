"""/refer: a consultant sends the client up to three directory contacts of a type.

The contacts are in the client's language and country; the type is recorded for the report
(`Conversation.outcome_detail`, kept by /close). The button re-checks that the conversation
is open and the sender's, in the same transaction as the sending.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import PickConversation, Refer, encode, pattern_for
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services import directory, queue
from bot.services.directory import ServiceCard
from bot.services.queue import ConversationView
from handlers import menu_screens, screens
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    answer_query,
    callback_of,
    escape,
    query_of,
)
from handlers.staff_common import (
    command_conversation,
    edit_pressed,
    message_of,
    pick,
    require_staff,
    staff_translator,
    tell_client,
)

REFER_CARDS = 3
MESSAGE_MAX = 4096


def _service_name(runtime: Runtime, service_type: str, language: str) -> str:
    """A service type as the directory menu names it ("OST sites")."""
    try:
        return runtime.content.button(f"svc_{service_type}", language)
    except KeyError:
        return service_type


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
    await message_of(update).reply_text(text, reply_markup=keyboard)


async def refer_picked(update: Update, context: PeerlineContext) -> None:
    choice = await pick(update, context)
    if choice is None:
        return
    _ = choice.translator
    text, keyboard = await refer_screen(context, _, choice.conversation)
    query = query_of(update)
    await answer_query(update, context)
    await query.edit_message_text(text, reply_markup=keyboard)


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
                callback_data=encode(Refer(conversation_id=conversation.id, service_type=kind)),
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
        more = "\n\n" + menu_screens.card(_, runtime, service, language)
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
    callback = callback_of(update, Refer)
    conversation_id, service_type = callback.conversation_id, callback.service_type
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
                await tell_client(context, session, conversation, text)
                # Kept by /close: a "referred" outcome is then counted with its service type.
                await queue.set_outcome_detail(session, member.id, conversation.id, service_type)
                await queue.audit(session, member.id, "refer", conversation.id, service_type)
    if conversation is None:
        await edit_pressed(update, context, escape(_.gettext("This conversation is not open.")))
        return
    if not sent:
        text = _.gettext("The directory has no services for this client's country yet.")
        await edit_pressed(update, context, escape(text))
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
    await edit_pressed(update, context, "\n".join(lines))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("refer", refer_command, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(refer_button, pattern=pattern_for(Refer)))
    app.add_handler(
        CallbackQueryHandler(refer_picked, pattern=pattern_for(PickConversation, "refer"))
    )
