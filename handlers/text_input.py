"""Free text from a client: a typed city name when we asked for one, otherwise the menu."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.callbacks import encode
from bot.services import queue
from bot.services.clients import ClientState
from handlers import screens
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    load_client,
    set_client,
    show,
    translator,
)
from handlers.navigation import next_step

MAX_CITY_LENGTH = 80


async def on_text(update: Update, context: PeerlineContext) -> None:
    """Route free text by what the client's stored state says we are waiting for."""
    client = await load_client(update, context)
    if client.awaiting == "city":
        await city_typed(update, context, client)
        return
    if (client.awaiting or "").startswith("comment:"):
        await comment_typed(update, context, client)
        return
    _ = translator(context, client)
    if not client.onboarded:
        await next_step(update, context, client)
        return
    note = _.gettext("I answer to buttons and commands. Choose what you need below.")
    await next_step(update, context, client, note=note)


async def city_typed(update: Update, context: PeerlineContext, client: ClientState) -> None:
    """A typed city name: saved if it is exactly a known one, else suggestions or a retry."""
    runtime = context.runtime
    _ = translator(context, client)
    typed = (update.effective_message.text or "").strip()
    language = client.language or runtime.i18n.default
    # Only an exact name is saved without asking: a typo match ("Орёл" -> Oral) may be wrong.
    exact = runtime.cities.resolve(typed, client.country) if len(typed) <= MAX_CITY_LENGTH else None
    if exact is not None:
        client = await set_client(update, context, city=exact.key, awaiting=None)
        note = _.gettext("City saved: %(city)s", city=runtime.cities.name(exact.key, language))
        await next_step(update, context, client, note=note)
        return
    matches = runtime.cities.match(typed, client.country) if len(typed) <= MAX_CITY_LENGTH else []
    if matches:
        rows = [
            [Button(runtime.cities.name(c.key, language), callback_data=encode("city", c.key))]
            for c in matches
        ]
        rows.append([Button(_.gettext("Skip"), callback_data=encode("city", "-"))])
        await show(update, context, _.gettext("Which one do you mean?"), Keyboard(rows))
        return
    text, keyboard = screens.city_picker(_, runtime, client)
    sorry = _.gettext(
        "I do not know this city. Check the spelling, pick one below, or skip: "
        "you will then see services for the whole country."
    )
    await show(update, context, sorry + "\n\n" + text, keyboard)


async def comment_typed(update: Update, context: PeerlineContext, client: ClientState) -> None:
    """The optional comment after rating a conversation."""
    conversation_id = int(client.awaiting.removeprefix("comment:"))
    runtime = context.runtime
    async with runtime.transaction() as session:
        await queue.add_rating_comment(
            session,
            runtime.keys,
            conversation_id,
            client.id,
            update.effective_message.text or "",
        )
    client = await set_client(update, context, awaiting=None)
    _ = translator(context, client)
    await next_step(update, context, client, note=_.gettext("Thank you, we will read it."))


def register(app: Application) -> None:
    app.add_handler(MessageHandler(PRIVATE_MESSAGE & filters.TEXT & ~filters.COMMAND, on_text))
