"""Before a client's message or request is recorded: blocked? writing very fast? Shared by
the consultation and humanitarian flows, so neither imports another flow.

A blocked client is refused (abuse). A client over the flood limit is not: people in
distress write many short messages, and every one of them is recorded and delivered (the
relay merges queued texts for one consultant, the outbox paces them); they are told once a
window that replies may be slower.
"""

from __future__ import annotations

from telegram import Update

from bot.i18n import Translator
from bot.services import abuse, clients
from handlers import screens
from handlers.common import PeerlineContext, answer_query, client_key, show


def blocked_text(_: Translator) -> str:
    return _.gettext(
        "We are sorry, but this chat can no longer send requests to consultants. "
        "The information and the services in the menu are still here for you.\n"
        "If a life is in danger, call an ambulance now. Overdose first aid: /overdose"
    )


def slower_text(_: Translator) -> str:
    return _.gettext(
        "You are writing a lot at once, and that is all right: everything you send is kept "
        "and reaches the consultant. Their replies may come more slowly.\n"
        "If a life is in danger, call an ambulance now. Overdose first aid: /overdose"
    )


async def refuse_if_blocked(update: Update, context: PeerlineContext, client_id: int) -> bool:
    """True if this message or request from the client must not be recorded: they are
    blocked. Counts it against the flood limit and answers in their language: a blocked
    client on each message up to the limit; a client over it, once a window, that replies
    may be slower (their message is recorded all the same)."""
    runtime = context.runtime
    async with runtime.transaction() as session:
        try:
            verdict = await abuse.count_message(session, client_id)
        except LookupError:  # deleted meanwhile (/forget): the caller's flow deals with it
            return False
        blocked = await abuse.is_blocked(session, client_id)
        client = await clients.get(session, client_key(update, context))
    if not blocked and (verdict.allowed or not verdict.warn):
        return False
    _ = runtime.i18n.get(client.language if client else None)
    if not blocked:
        if update.callback_query is None:  # a button's own screen says what happens next
            await show(update, context, slower_text(_), screens.main_menu_button(_))
        return False
    if verdict.allowed or verdict.warn:
        await show(update, context, blocked_text(_), screens.main_menu_button(_))
    elif update.callback_query is not None:
        await answer_query(update, context)  # silence, but no endless spinner
    return True
