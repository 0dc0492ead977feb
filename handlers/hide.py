"""Quick hide: "🧹 Clear this chat" and /hide delete every message of the last 48 hours in the
person's chat with the bot, ours and theirs, and leave nothing behind (not even a "done"),
because the person may be about to hand their phone over. The account and any open
conversation stay; /forget is the one that deletes the data too.

What Telegram does not let a bot delete (anything older than 48 hours) is said where the
button is offered (settings and /help), never after the clearing.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import HideChat, pattern_for
from bot.services import traces
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query

log = logging.getLogger(__name__)

DELETE_BATCH = 100  # deleteMessages takes at most 100 ids


async def hide(update: Update, context: PeerlineContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != chat.PRIVATE:
        return
    runtime = context.runtime
    key = runtime.keys.client_key(user.id)
    query = update.callback_query
    if query is not None:
        await answer_query(update, context)
    async with runtime.transaction() as session:
        ids = set(await traces.recent(session, key))
    for message in (update.message, query.message if query else None):
        if message is not None:
            ids.add(message.message_id)
    ordered = sorted(ids)
    for start in range(0, len(ordered), DELETE_BATCH):
        try:
            await context.bot.delete_messages(chat.id, ordered[start : start + DELETE_BATCH])
        except BadRequest as exc:  # deleted by the person already, or past Telegram's 48 h
            log.info("some messages could not be cleared: %s", exc.message)
    async with runtime.transaction() as session:
        await traces.forget(session, key)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("hide", hide, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(hide, pattern=pattern_for(HideChat)))
