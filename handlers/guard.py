"""Before a client's message or request is recorded: blocked? flooding? Shared by the
consultation and humanitarian flows, so neither imports another flow."""

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


def flood_text(_: Translator) -> str:
    return _.gettext(
        "You are sending messages very fast. Please wait a minute: what you send until then "
        "does not reach the consultant.\n"
        "If a life is in danger, call an ambulance now. Overdose first aid: /overdose"
    )


async def refuse_if_blocked_or_flooding(
    update: Update, context: PeerlineContext, client_id: int
) -> bool:
    """True if this message or request from the client must not be recorded: they are
    blocked, or over the flood limit. Counts it, and answers politely in their language:
    a blocked client on each message up to the flood limit, a flooding one once a window."""
    runtime = context.runtime
    async with runtime.transaction() as session:
        try:
            verdict = await abuse.count_message(session, client_id)
        except LookupError:  # deleted meanwhile (/forget): the caller's flow deals with it
            return False
        blocked = await abuse.is_blocked(session, client_id)
        client = await clients.get(session, client_key(update, context))
    if not blocked and verdict.allowed:
        return False
    _ = runtime.i18n.get(client.language if client else None)
    if blocked and (verdict.allowed or verdict.warn):
        await show(update, context, blocked_text(_), screens.main_menu_button(_))
    elif not blocked and verdict.warn:
        await show(update, context, flood_text(_), screens.main_menu_button(_))
    elif update.callback_query is not None:
        await answer_query(update, context)  # silence, but no endless spinner
    return True
