"""The humanitarian aid request form: what is needed -> details -> a queue item for staff."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
)

from bot import awaiting
from bot.callbacks import AidRequest, AidSend, OpenMenu, encode, pattern_for
from bot.dbtypes import clean_text
from bot.i18n import N_, Translator
from bot.services import usage
from bot.services.clients import ClientState
from bot.services.relay import Incoming
from handlers import guard, intake, intake_screens, screens
from handlers.common import (
    PeerlineContext,
    callback_of,
    chat_id_of,
    load_client,
    message_of,
    set_client,
    show,
    translator,
)
from handlers.navigation import next_step

NEEDS = {
    "food": N_("Food kit"),
    "hygiene": N_("Hygiene kit"),
    "baby": N_("Baby kit"),
    "housing": N_("Housing, a place to stay"),
    "transport": N_("Transport to OST or a clinic"),
    "other": N_("Something else"),
}
MAX_DETAILS = 1000


async def start_form(update: Update, context: PeerlineContext) -> None:
    """ "Request aid": what is needed? (or the need chosen: ask for details)."""
    need = callback_of(update, AidRequest).need
    client = await load_client(update, context)
    if not client.onboarded:
        await next_step(update, context, client)
        return
    _ = translator(context, client)
    if need == "start":
        rows = [
            [Button(_.gettext(label), callback_data=encode(AidRequest(key)))]
            for key, label in NEEDS.items()
        ]
        rows.append(
            [Button("‹ " + _.gettext("Back"), callback_data=encode(OpenMenu("humanitarian")))]
        )
        text = _.gettext("<b>Request humanitarian aid</b>\nWhat do you need?")
        await show(update, context, text, Keyboard(rows))
        return
    client = await set_client(update, context, awaiting=awaiting.AidDetails(need))
    await show(update, context, *details_prompt(_, context, client, need))


def details_prompt(
    _: Translator, context: PeerlineContext, client: ClientState, need: str
) -> screens.Screen:
    language = client.language or context.runtime.i18n.default
    city = (
        context.runtime.cities.name(client.city, language) if client.city else _.gettext("not set")
    )
    text = _.gettext(
        "<b>%(need)s</b>\nWrite the details in one message: what exactly, for how many people, "
        "when. Do not write names, addresses or phone numbers: staff answer you here.\n"
        "Your city: %(city)s (you can change it in /settings).",
        need=_.gettext(NEEDS[need]),
        city=city,
    )
    rows = [
        [Button(_.gettext("Send without details"), callback_data=encode(AidSend(need)))],
        [Button("‹ " + _.gettext("Back"), callback_data=encode(AidRequest("start")))],
    ]
    return text, Keyboard(rows)


async def details_typed(
    update: Update, context: PeerlineContext, client: ClientState, value: awaiting.AidDetails
) -> None:
    """Free text while the form waits for details: submit the request with them."""
    message = message_of(update)
    if not message.text:
        _ = translator(context, client)
        await message.reply_text(_.gettext("Please write the details as text."))
        return
    await submit(update, context, client, value.need, clean_text(message.text[:MAX_DETAILS]))


async def send_without_details(update: Update, context: PeerlineContext) -> None:
    client = await load_client(update, context)
    await submit(update, context, client, callback_of(update, AidSend).need, "")


async def submit(
    update: Update, context: PeerlineContext, client: ClientState, need: str, details: str
) -> None:
    """Queue a humanitarian request; its first message is the form as the client filled it."""
    if need not in NEEDS or not client.onboarded:
        await next_step(update, context, client)
        return
    client = await set_client(update, context, awaiting=None)
    if await guard.refuse_if_blocked(update, context, client.id):
        return
    _ = translator(context, client)
    language = client.language or context.runtime.i18n.default
    city = context.runtime.cities.name(client.city, language) if client.city else "–"
    summary = f"📦 {_.gettext(NEEDS[need])} · {city}" + (f"\n{details}" if details else "")
    message = update.effective_message
    first = Incoming(
        update_id=update.update_id,
        kind="text",
        text=summary,
        source_message_id=message.message_id if message else 0,
        chat_id=chat_id_of(update),
    )
    opened = await intake.open_request(
        context, client, topic="humanitarian", urgent=False, kind="humanitarian", first=first
    )
    if opened.existing is not None:  # one already open: no second request
        await show(update, context, *intake_screens.already_open(_, opened.existing.id))
        return
    await usage.aid_requested(context.runtime.sessions, need, client)  # reports count kinds
    text, keyboard = intake_screens.queued_screen(_, context, opened)
    note = _.gettext("Your request for aid is sent.")
    await show(update, context, note + "\n\n" + text, keyboard, new=update.callback_query is None)


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(start_form, pattern=pattern_for(AidRequest)))
    app.add_handler(CallbackQueryHandler(send_without_details, pattern=pattern_for(AidSend)))
