"""News from the organisation: clients opt in and out (/subscribe, /unsubscribe, settings)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import News, pattern_for
from bot.services import clients
from handlers import settings_screens
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    callback_of,
    client_key,
    load_client,
    show,
    translator,
)
from handlers.navigation import next_step


async def set_news(update: Update, context: PeerlineContext, on: bool) -> None:
    client = await load_client(update, context)
    if not client.onboarded:  # news go out in the chosen language: choose it first
        await next_step(update, context, client)
        return
    async with context.runtime.transaction() as session:
        updated = await clients.set_subscribed(session, client_key(update, context), on)
    if updated is None:  # deleted meanwhile (/forget in another chat window): start afresh
        if context.visitor is not None:
            context.visitor = context.visitor.with_client(None)
        await next_step(update, context, await load_client(update, context))
        return
    client = updated
    _ = translator(context, client)
    note = (
        _.gettext(
            "You are subscribed to news in your language. /unsubscribe stops them at any time."
        )
        if on
        else _.gettext("You will not get news from us any more.")
    )
    if update.callback_query is not None:  # from the settings screen: stay there
        await show(
            update, context, *settings_screens.settings_screen(_, context.runtime, client, note)
        )
    else:
        await next_step(update, context, client, note=note)


async def subscribe(update: Update, context: PeerlineContext) -> None:
    """/subscribe"""
    await set_news(update, context, True)


async def unsubscribe(update: Update, context: PeerlineContext) -> None:
    """/unsubscribe"""
    await set_news(update, context, False)


async def news_button(update: Update, context: PeerlineContext) -> None:
    await set_news(update, context, callback_of(update, News).choice == "on")


def register(app: Application) -> None:
    app.add_handler(CommandHandler("subscribe", subscribe, filters=PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("unsubscribe", unsubscribe, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(news_button, pattern=pattern_for(News)))
