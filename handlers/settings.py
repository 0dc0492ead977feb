"""Settings: language, country, city, and /forget (delete everything, after a confirmation)."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.callbacks import encode, parse, pattern_for
from bot.services import clients
from handlers import screens
from handlers.common import (
    PeerlineContext,
    client_key,
    load_client,
    set_client,
    show,
    translator,
)
from handlers.navigation import next_step

PRIVATE = filters.ChatType.PRIVATE


async def settings_command(update: Update, context: PeerlineContext) -> None:
    """/settings and the settings button."""
    client = await load_client(update, context)
    if not client.onboarded:
        await next_step(update, context, client)
        return
    _ = translator(context, client)
    await show(update, context, *screens.settings_screen(_, context.runtime, client))


async def settings_button(update: Update, context: PeerlineContext) -> None:
    callback = parse(update.callback_query.data)
    assert callback is not None
    action = callback.arg
    client = await load_client(update, context)
    _ = translator(context, client)
    if action == "show" or not client.onboarded:
        await settings_command(update, context)
    elif action == "lang":
        await show(update, context, *screens.language_picker(client.language or "ru"))
    elif action == "country":
        await show(update, context, *screens.country_picker(_))
    elif action == "city":
        await set_client(update, context, awaiting="city")
        await show(update, context, *screens.city_picker(_, context.runtime, client))
    elif action == "forget":
        await ask_forget(update, context)


async def ask_forget(update: Update, context: PeerlineContext) -> None:
    """/forget: explain what will be deleted and ask to confirm."""
    client = await load_client(update, context)
    _ = translator(context, client)
    text = _.gettext(
        "<b>Delete all your data?</b>\n"
        "We will delete your language, country, city and everything else stored about you. "
        "This cannot be undone. The messages in this chat stay on your phone: you can delete "
        "the chat in Telegram yourself."
    )
    keyboard = Keyboard(
        [
            [Button(_.gettext("Yes, delete everything"), callback_data=encode("forget", "yes"))],
            [Button(_.gettext("No, keep it"), callback_data=encode("forget", "no"))],
        ]
    )
    await show(update, context, text, keyboard)


async def confirm_forget(update: Update, context: PeerlineContext) -> None:
    callback = parse(update.callback_query.data)
    assert callback is not None
    if callback.arg == "no":
        await settings_command(update, context)
        return
    client = await load_client(update, context)
    _ = translator(context, client)  # the language is gone after the delete; keep it for the reply
    async with context.runtime.transaction() as session:
        await clients.forget(session, client_key(update, context))
    await show(
        update,
        context,
        _.gettext("Everything we stored about you has been deleted. Send /start to begin again."),
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("settings", settings_command, filters=PRIVATE))
    app.add_handler(CommandHandler("forget", ask_forget, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(settings_button, pattern=pattern_for("set")))
    app.add_handler(CallbackQueryHandler(confirm_forget, pattern=pattern_for("forget")))
