"""The one central error handler: log without personal data, apologise in the client's language."""

from __future__ import annotations

import logging
import secrets

from telegram import Update
from telegram.error import TelegramError

from bot.services import clients
from handlers.common import PeerlineContext, answer_query, client_key

log = logging.getLogger("peerline.errors")


async def on_error(update: object, context: PeerlineContext) -> None:
    # A short reference ties the user's report to the log line without logging who they are.
    reference = secrets.token_hex(4)
    kind = type(update).__name__ if update is not None else "none"
    log.error("error %s while handling %s", reference, kind, exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:  # wherever it was pressed: no endless spinner
        await answer_query(update, context)
    except TelegramError:  # answered already by a flow that answers by itself: no matter
        log.info("error %s: the button press was answered already", reference)
    if update.effective_chat is None:
        return
    if update.effective_chat.type != "private" or update.effective_user is None:
        return
    language = None
    try:
        async with context.runtime.transaction() as session:
            client = await clients.get(session, client_key(update, context))
        language = client.language if client else None
    except Exception:
        log.warning("error %s: could not read the client's language", reference)
    _ = context.runtime.i18n.get(language)
    text = _.gettext(
        "Sorry, something went wrong on our side (reference %(ref)s). Please try again; "
        "/menu brings you back to the start. If you need help urgently, see /overdose.",
        ref=reference,
    )
    try:
        await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError:
        log.warning("error %s: could not tell the user", reference)
