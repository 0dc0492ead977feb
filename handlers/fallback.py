"""What nothing else handled: unknown commands and stale buttons (plain messages, media
included, are always handled by handlers/dispatch.py).

Registered last, so each gets a short, polite answer instead of silence.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from handlers import menu_screens, screens
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    answer_query,
    in_private_chat,
    load_client,
    show,
    translator,
)
from handlers.door import translator_for, visitor
from handlers.navigation import next_step

PRIVATE = PRIVATE_MESSAGE


async def unknown_command(update: Update, context: PeerlineContext) -> None:
    """A command we do not have: say so and list the ones we do."""
    client = await load_client(update, context)
    _ = translator(context, client)
    help_text = menu_screens.help_text(_, client.country)
    text = _.gettext("I do not know this command.") + "\n\n" + help_text
    await show(update, context, text, screens.main_menu_button(_))


async def stale_button(update: Update, context: PeerlineContext) -> None:
    """A button from an old or forged message: never trusted, answered politely (once: the
    next screen must not answer it again), and the client is shown where they are. Outside
    their private chat (a group, or a message the bot cannot see) only the answer: no client
    row is made from a group, and no screen is put there."""
    if update.effective_user is None:  # forged: nobody to answer in any language
        await answer_query(update, context)
        return
    _ = translator_for(update, context, await visitor(update, context))
    await answer_query(update, context, _.gettext("This button is out of date."))
    if not in_private_chat(update):
        return
    client = await load_client(update, context)
    await next_step(update, context, client)


def register(app: Application) -> None:
    app.add_handler(MessageHandler(PRIVATE & filters.COMMAND, unknown_command))
    app.add_handler(CallbackQueryHandler(stale_button))
