"""Free text from a client: a typed city name or a rating comment when we asked for one,
otherwise the menu (handlers/dispatch.py decides which)."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update

from bot import awaiting
from bot.callbacks import ChooseCity, encode
from bot.services import feedback
from bot.services.clients import ClientState
from handlers import settings_screens
from handlers.common import (
    PeerlineContext,
    message_of,
    set_client,
    show,
    translator,
)
from handlers.navigation import next_step

MAX_CITY_LENGTH = 80


async def menus(update: Update, context: PeerlineContext, client: ClientState) -> None:
    """The last tier of the dispatcher: words that are no answer to anything we asked. The
    client is shown where they are (onboarding, or the menu) with a short note."""
    _ = translator(context, client)
    message = update.effective_message
    if not client.onboarded:
        await next_step(update, context, client)
        return
    note = (
        _.gettext("I answer to buttons and commands. Choose what you need below.")
        if message is not None and message.text
        else _.gettext("I can only read text and buttons here.")
    )
    await next_step(update, context, client, note=note)


async def city_typed(update: Update, context: PeerlineContext, client: ClientState) -> None:
    """A typed city name: saved if it is exactly a known one, else suggestions or a retry."""
    runtime = context.runtime
    _ = translator(context, client)
    typed = (message_of(update).text or "").strip()
    if not typed:  # a photo or a sticker where a city name was asked for
        await show(update, context, *settings_screens.city_picker(_, runtime, client))
        return
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
            [Button(runtime.cities.name(c.key, language), callback_data=encode(ChooseCity(c.key)))]
            for c in matches
        ]
        rows.append([Button(_.gettext("Skip"), callback_data=encode(ChooseCity("-")))])
        await show(update, context, _.gettext("Which one do you mean?"), Keyboard(rows))
        return
    text, keyboard = settings_screens.city_picker(_, runtime, client)
    sorry = _.gettext(
        "I do not know this city. Check the spelling, pick one below, or skip: "
        "you will then see services for the whole country."
    )
    await show(update, context, sorry + "\n\n" + text, keyboard)


async def comment_typed(
    update: Update, context: PeerlineContext, client: ClientState, value: awaiting.RatingComment
) -> None:
    """The optional comment after rating a conversation."""
    conversation_id = value.conversation_id
    runtime = context.runtime
    async with runtime.transaction() as session:
        await feedback.add_rating_comment(
            session,
            runtime.keys,
            conversation_id,
            client.id,
            message_of(update).text or "",
        )
    client = await set_client(update, context, awaiting=None)
    _ = translator(context, client)
    await next_step(update, context, client, note=_.gettext("Thank you, we will read it."))
