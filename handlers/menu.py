"""The client menu tree from content/: navigation, /menu, /overdose and /help."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import OpenMenu, pattern_for
from handlers import menu_screens, screens
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    callback_of,
    load_client,
    show,
    translator,
)
from handlers.navigation import OVERDOSE, open_node

PRIVATE = PRIVATE_MESSAGE


async def menu_button(update: Update, context: PeerlineContext) -> None:
    """A menu button: open that node in place."""
    await open_node(update, context, callback_of(update, OpenMenu).node)


async def menu_command(update: Update, context: PeerlineContext) -> None:
    """/menu: the main menu."""
    await open_node(update, context, "main")


async def overdose_command(update: Update, context: PeerlineContext) -> None:
    """/overdose: first aid at once, from anywhere, even before choosing a language."""
    await open_node(update, context, OVERDOSE)


async def help_command(update: Update, context: PeerlineContext) -> None:
    """/help: what the bot can do and its commands."""
    client = await load_client(update, context)
    _ = translator(context, client)
    await show(
        update, context, menu_screens.help_text(_, client.country), screens.main_menu_button(_)
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("menu", menu_command, filters=PRIVATE))
    app.add_handler(CommandHandler("overdose", overdose_command, filters=PRIVATE))
    app.add_handler(CommandHandler("help", help_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(menu_button, pattern=pattern_for(OpenMenu)))
