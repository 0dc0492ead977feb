"""First contact: language -> privacy notice -> country -> optional city -> main menu.

Each step is stored on the client row, so a restart (or another bot process) continues
exactly where the person left off.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import awaiting
from bot.callbacks import ChooseCity, ChooseCountry, ChooseLanguage, PrivacyRead, pattern_for
from bot.services.directory import NATIONAL
from handlers import settings_screens
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    callback_of,
    load_client,
    set_client,
    show,
    translator,
)
from handlers.navigation import ASK_PREFIX, next_step, open_ask, open_node

PRIVATE = PRIVATE_MESSAGE


async def start(update: Update, context: PeerlineContext) -> None:
    """/start: continue onboarding; a deep link (/start <node>) opens that menu node."""
    if context.args and context.args[0].startswith(ASK_PREFIX):
        await open_ask(update, context, context.args[0].removeprefix(ASK_PREFIX))
    elif context.args:
        await open_node(update, context, context.args[0])
    else:
        await next_step(update, context)


async def choose_language(update: Update, context: PeerlineContext) -> None:
    """A language button, during onboarding or from settings."""
    choice = callback_of(update, ChooseLanguage)
    client = await set_client(update, context, language=choice.language)
    if client.onboarded:  # came from settings or /language
        _ = translator(context, client)
        note = _.gettext("Language changed.")
        await show(
            update, context, *settings_screens.settings_screen(_, context.runtime, client, note)
        )
    else:
        await next_step(update, context, client)


async def language_command(update: Update, context: PeerlineContext) -> None:
    """/language: pick another language at any time."""
    client = await load_client(update, context)
    await show(update, context, *settings_screens.language_picker(client.language or "ru"))


async def accept_privacy(update: Update, context: PeerlineContext) -> None:
    await next_step(update, context, await set_client(update, context, privacy_seen=True))


async def choose_country(update: Update, context: PeerlineContext) -> None:
    """A country button; a new country clears the city and asks for one in that country."""
    country = callback_of(update, ChooseCountry).country
    wants_city = country != "other"
    client = await set_client(
        update,
        context,
        country=country,
        city=None,
        awaiting=awaiting.CityName() if wants_city else None,
    )
    await next_step(update, context, client)


async def choose_city(update: Update, context: PeerlineContext) -> None:
    """A city button, or "skip"; the city must belong to the known list."""
    choice = callback_of(update, ChooseCity)
    client = await load_client(update, context)
    _ = translator(context, client)
    if choice.city == "-":
        await next_step(update, context, await set_client(update, context, awaiting=None))
        return
    city = context.runtime.cities.get(choice.city)
    # A stale button from before a change of country: a city abroad would hide the services.
    if city is None or (client.country in NATIONAL and city.country != client.country):
        await show(update, context, *settings_screens.city_picker(_, context.runtime, client))
        return
    client = await set_client(update, context, city=city.key, awaiting=None)
    name = context.runtime.cities.name(city.key, client.language or context.runtime.i18n.default)
    note = _.gettext("City saved: %(city)s", city=name)
    await next_step(update, context, client, note=note)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("start", start, filters=PRIVATE))
    app.add_handler(CommandHandler("language", language_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(choose_language, pattern=pattern_for(ChooseLanguage)))
    app.add_handler(CallbackQueryHandler(accept_privacy, pattern=pattern_for(PrivacyRead)))
    app.add_handler(CallbackQueryHandler(choose_country, pattern=pattern_for(ChooseCountry)))
    app.add_handler(CallbackQueryHandler(choose_city, pattern=pattern_for(ChooseCity)))
