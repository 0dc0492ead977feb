"""Before a client's message or request is recorded: blocked? writing very fast? Shared by
the consultation and humanitarian flows, so neither imports another flow.

A blocked client is refused (abuse). A client over the flood limit is not: people in
distress write many short messages, and every one of them is recorded and delivered (the
relay merges queued texts for one consultant, the outbox paces them); they are told once a
window that replies may be slower.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
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


@dataclass(frozen=True)
class Verdict:
    """What the guard found for one message or request, inside the caller's transaction."""

    blocked: bool
    flood: abuse.FloodVerdict | None  # None: no such client any more (/forget meanwhile)

    @property
    def needs_answer(self) -> bool:
        if self.flood is None:
            return False
        return self.blocked or (not self.flood.allowed and self.flood.warn)


async def judge(session: AsyncSession, client_id: int) -> Verdict:
    """Count the message against the flood limit and check for a block, in the transaction
    that records it (one transaction for both on the busiest path, consult.client_message)."""
    try:
        flood, blocked = await abuse.count_and_check(session, client_id)
    except LookupError:  # deleted meanwhile (/forget): the caller's flow deals with it
        return Verdict(blocked=False, flood=None)
    return Verdict(blocked=blocked, flood=flood)


async def answer(
    update: Update, context: PeerlineContext, verdict: Verdict, language: str | None
) -> bool:
    """After the transaction: True if the message or request must not be recorded (the
    client is blocked); answers in their language: a blocked client on each message up to
    the limit; a client over it, once a window, that replies may be slower (their message is
    recorded all the same)."""
    flood = verdict.flood
    if flood is None:
        return False
    if not verdict.blocked and (flood.allowed or not flood.warn):
        return False
    _ = context.runtime.i18n.get(language)
    if not verdict.blocked:
        if update.callback_query is None:  # a button's own screen says what happens next
            await show(update, context, slower_text(_), screens.main_menu_button(_))
        return False
    if flood.allowed or flood.warn:
        await show(update, context, blocked_text(_), screens.main_menu_button(_))
    elif update.callback_query is not None:
        await answer_query(update, context)  # silence, but no endless spinner
    return True


async def refuse_if_blocked(update: Update, context: PeerlineContext, client_id: int) -> bool:
    """`judge` in a short transaction of its own, then `answer`: True if this message or
    request from the client must not be recorded."""
    runtime = context.runtime
    language = None
    async with runtime.transaction() as session:
        verdict = await judge(session, client_id)
        if verdict.needs_answer:
            client = await clients.get(session, client_key(update, context))
            language = client.language if client else None
    return await answer(update, context, verdict, language)
