"""The one central error handler: log without personal data, apologise in the client's language."""

from __future__ import annotations

import logging
import secrets
import traceback
from pathlib import Path

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot.services import clients
from handlers.common import PeerlineContext, answer_query, client_key

log = logging.getLogger("peerline.errors")


# Telegram refusing a call is not a bug of ours: a press answered after Telegram's deadline,
# a chat that is gone, a person who blocked the bot, the network. One line, where it happened,
# no traceback (the 10,000-update adversarial run in bench/ counts tracebacks as bugs).
REFUSALS = (BadRequest, Forbidden, NetworkError)


def where(error: BaseException) -> str:
    """The innermost frame of a flow (else of our own code) the error passed through, as
    path:line: the flow says which screen failed; bot/ frames are mostly the plumbing."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/handlers/" in f.filename] or [
        f for f in frames if "/bot/" in f.filename
    ]
    if not ours:
        return "?"
    frame = ours[-1]
    path = Path(frame.filename)
    return f"{path.parent.name}/{path.name}:{frame.lineno}"


async def on_error(update: object, context: PeerlineContext) -> None:
    # A short reference ties the user's report to the log line without logging who they are.
    # A letter first: eight hex digits are all digits one time in 43, and the log filter
    # (bot/logs.py) masks long numbers as possible ids, which cut the tie.
    reference = "e" + secrets.token_hex(4)
    kind = type(update).__name__ if update is not None else "none"
    error = context.error
    if isinstance(error, REFUSALS):
        log.warning(
            "error %s while handling %s: Telegram refused a call at %s (%s: %.120s)",
            reference,
            kind,
            where(error),
            type(error).__name__,
            str(error),
        )
    else:
        log.error("error %s while handling %s", reference, kind, exc_info=error)
    if isinstance(error, Forbidden):
        return  # they blocked the bot: no apology can reach them
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
    i18n = context.runtime.i18n
    # Not a client (staff), or unreadable: their Telegram app's language (never stored).
    _ = i18n.get(language or i18n.suggest(update.effective_user.language_code))
    text = _.gettext(
        "Sorry, something went wrong on our side (reference %(ref)s). Please try again; "
        "/menu brings you back to the start. If you need help urgently, see /overdose.",
        ref=reference,
    )
    try:
        await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError:
        log.warning("error %s: could not tell the user", reference)
