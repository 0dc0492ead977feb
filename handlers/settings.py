"""Settings: language, country, city, and /forget (delete everything, after a confirmation)."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import MaybeInaccessibleMessage, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import awaiting
from bot.callbacks import ConfirmForget, SettingsAction, encode, pattern_for
from bot.services import clients, closing, queue
from handlers import settings_screens
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    callback_of,
    client_key,
    load_client,
    query_of,
    set_client,
    show,
    translator,
)
from handlers.navigation import next_step

PRIVATE = PRIVATE_MESSAGE
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids per call

log = logging.getLogger(__name__)


async def settings_command(update: Update, context: PeerlineContext) -> None:
    """/settings and the settings button."""
    client = await load_client(update, context)
    if not client.onboarded:
        await next_step(update, context, client)
        return
    _ = translator(context, client)
    await show(update, context, *settings_screens.settings_screen(_, context.runtime, client))


async def settings_button(update: Update, context: PeerlineContext) -> None:
    action = callback_of(update, SettingsAction).action
    client = await load_client(update, context)
    _ = translator(context, client)
    if action == "show" or not client.onboarded:
        await settings_command(update, context)
    elif action == "lang":
        await show(update, context, *settings_screens.language_picker(client.language or "ru"))
    elif action == "country":
        await show(update, context, *settings_screens.country_picker(_))
    elif action == "city":
        await set_client(update, context, awaiting=awaiting.CityName())
        await show(update, context, *settings_screens.city_picker(_, context.runtime, client))
    elif action == "forget":
        await ask_forget(update, context)


async def ask_forget(update: Update, context: PeerlineContext) -> None:
    """/forget: explain what will be deleted and ask to confirm."""
    client = await load_client(update, context)
    _ = translator(context, client)
    text = _.gettext(
        "<b>Delete all your data?</b>\n"
        "We will delete your language, country, city, your conversations with consultants and "
        "everything else stored about you, and the bot's messages in this chat from the last "
        "48 hours. This cannot be undone. Older messages stay on your phone: you can delete the "
        "chat in Telegram yourself."
    )
    keyboard = Keyboard(
        [
            [
                Button(
                    _.gettext("Yes, delete everything"), callback_data=encode(ConfirmForget("yes"))
                )
            ],
            [Button(_.gettext("No, keep it"), callback_data=encode(ConfirmForget("no")))],
        ]
    )
    await show(update, context, text, keyboard)


async def confirm_forget(update: Update, context: PeerlineContext) -> None:
    query = query_of(update)
    if callback_of(update, ConfirmForget).answer == "no":
        await settings_command(update, context)
        return
    client = await load_client(update, context)
    _ = translator(context, client)  # the language is gone after the delete; keep it for the reply
    runtime = context.runtime
    async with runtime.transaction() as session:
        # A consultant in the middle of a conversation is told why it vanished.
        conversation = await queue.open_for_client(session, client.id)
        if conversation is not None:
            await closing.close_conversation(
                session, runtime, conversation.id, client_id=client.id, forgotten=True
            )
        forgotten = await clients.forget(session, client_key(update, context))
    # After the commit, never inside it: wipe what Telegram still lets us delete (48 hours),
    # this confirmation screen included, so a seized phone shows only the final message.
    if forgotten is not None:
        await _wipe_chat(context, forgotten, query.message)
    await show(
        update,
        context,
        _.gettext("Everything we stored about you has been deleted. Send /start to begin again."),
        new=True,
    )


async def _wipe_chat(
    context: PeerlineContext, forgotten: clients.Forgotten, screen: MaybeInaccessibleMessage | None
) -> None:
    chat_id = context.runtime.keys.decrypt_chat_id(forgotten.chat_ref)
    ids = set(forgotten.message_ids)
    if screen is not None and screen.chat.id == chat_id:
        ids.add(screen.message_id)
    ordered = sorted(ids)
    for start in range(0, len(ordered), DELETE_BATCH):
        try:
            await context.bot.delete_messages(chat_id, ordered[start : start + DELETE_BATCH])
        except BadRequest as exc:  # deleted by the client already, or past Telegram's 48 h
            log.info("could not delete some messages after /forget: %s", exc.message)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("settings", settings_command, filters=PRIVATE))
    app.add_handler(CommandHandler("forget", ask_forget, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(settings_button, pattern=pattern_for(SettingsAction)))
    app.add_handler(CallbackQueryHandler(confirm_forget, pattern=pattern_for(ConfirmForget)))
