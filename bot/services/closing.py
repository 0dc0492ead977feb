"""Closing a conversation, with everything that follows from it, in one place.

Every path that ends a conversation comes here: a consultant's /close and its outcome
buttons (private chat or staff-group topic), a block (handlers/moderation.py), the client's
own "end" button, and a client deleting their data. Each consequence happens once, in the
caller's transaction:

- the queue: the conversation is closed (a conditional update: if the other side closed it
  a moment earlier, nothing else happens and the caller hears None);
- the staff group's topic is closed (forum mode);
- an outcome "referred" plans the follow-up question (bot/services/followup.py);
- the client is asked for a rating when a consultant closes it (a client who ends it sees
  the request on the screen they pressed; the handler shows `feedback.rating_request`);
- the consultant holding it is told when the client ended it, or deleted their data.

Silent joiners are told by a periodic job (bot/staff_care.py), whatever closed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.services import feedback, followup, forum_topics, notify, pseudonyms, queue
from bot.services.queue import ConversationView

if TYPE_CHECKING:
    from bot.runtime import Runtime


@dataclass(frozen=True)
class Closed:
    """A conversation just closed, as it was the moment before (waiting or active)."""

    conversation: ConversationView
    # A consultant's path: the conversations they still hold, for "you hold: ..." lines.
    holding: tuple[ConversationView, ...] = ()

    @property
    def was_active(self) -> bool:
        return self.conversation.status == queue.ACTIVE


async def close_conversation(
    session: AsyncSession,
    runtime: Runtime,
    conversation_id: int,
    *,
    staff_id: int | None = None,
    client_id: int | None = None,
    outcome: str | None = None,
    ask_rating: bool = True,
    forgotten: bool = False,
) -> Closed | None:
    """Close it for exactly one of: the consultant `staff_id` who holds it (with an
    `outcome` from queue.OUTCOMES; `ask_rating=False` for a block, whose own notice the
    client gets instead), or the client `client_id` whose open conversation it is
    (`forgotten` when they are deleting their data). None, and nothing done, if it is not
    theirs to close or no longer open.
    """
    if (staff_id is None) == (client_id is None):
        raise ValueError("closed by exactly one of staff_id or client_id")
    if staff_id is not None:
        if outcome not in queue.OUTCOMES:
            return None
        conversation = await queue.get(session, conversation_id)
        if (
            conversation is None
            or conversation.status != queue.ACTIVE
            or conversation.staff_id != staff_id
        ):
            return None
    else:
        assert client_id is not None
        conversation = await queue.open_for_client(session, client_id)
        if conversation is None or conversation.id != conversation_id:
            return None
    try:
        await queue.close(session, conversation.id, staff_id=staff_id, outcome=outcome)
    except queue.NotAllowed:  # the other side closed it a moment earlier
        return None
    await forum_topics.close_topic(session, runtime, conversation.id)
    if outcome == "referred":
        await followup.schedule(session, conversation.id, days=runtime.settings.follow_up_days)
    if staff_id is not None:
        if ask_rating:
            await _ask_rating(session, runtime, conversation)
        holding = tuple(await queue.active_for_staff(session, staff_id))
        return Closed(conversation, holding)
    if conversation.staff_id is not None and (forgotten or conversation.status == queue.ACTIVE):
        await notify.staff(
            session,
            runtime,
            conversation.staff_id,
            _holder_notice(conversation, forgotten=forgotten),
            protect=runtime.settings.protect_content,
        )
    return Closed(conversation)


async def _ask_rating(
    session: AsyncSession, runtime: Runtime, conversation: ConversationView
) -> None:
    """The rating request, in the language of the conversation."""
    _ = runtime.i18n.get(conversation.language)
    text, buttons = feedback.rating_request(_, conversation.id)
    await notify.client(
        session,
        runtime,
        conversation.client_id,
        text,
        language=conversation.language,
        buttons=buttons,
    )


def _holder_notice(conversation: ConversationView, *, forgotten: bool) -> notify.Text:
    pseudonym = conversation.pseudonym

    def text(_: Translator) -> str:
        if forgotten:
            return _.gettext(
                "%(who)s deleted all their data: the conversation is closed and gone.",
                who=pseudonyms.display(_, pseudonym),
            )
        return _.gettext(
            "Client %(pseudonym)s ended the conversation.",
            pseudonym=pseudonyms.render(pseudonym or "?", _.language),
        )

    return text
