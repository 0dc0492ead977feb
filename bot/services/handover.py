"""A conversation changing hands: taken from the queue, taken over by a supervisor, released
back to the queue. Each is one function doing all its side effects in the caller's
transaction, so the handlers that offer it (/take and its buttons, a staff-group topic, the
desk) only parse, call and render.

Whoever gets a conversation gets, in this order (the outbox keeps each chat's order): the
notes colleagues left on it, then what the client wrote. The client is told who is with
them now, never that anyone read along.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.guide import ROLE_NAMES
from bot.i18n import N_, Translator
from bot.services import case_history, clients, desk, notify, pseudonyms, queue, recorded, relay
from bot.services import staff as staff_service
from bot.services.case_history import NoteView
from bot.services.queue import ConversationView
from bot.services.staff import StaffView

if TYPE_CHECKING:
    from bot.runtime import Runtime

WELCOME = N_(
    "<b>%(name)s</b> (%(role)s) is now with you. Write here: they do not see your name "
    "or your account."
)
# The same words at a take-over as at a hand-over to a colleague (handlers/consultant_tools).
CONTINUES = N_(
    "<b>%(name)s</b> (%(role)s) continues this conversation with you. Write here as "
    "before: they do not see your name or your account."
)
STEPPED_AWAY = N_(
    "Your consultant had to step away. Your request is back in the queue: "
    "the next consultant will see everything you wrote."
)


@dataclass(frozen=True)
class Moved:
    """A conversation that changed hands, and what the acting member holds now."""

    conversation: ConversationView
    holding: tuple[ConversationView, ...] = ()
    # A take-over: who held it before (told, and thanked).
    previous: StaffView | None = None


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def client_header(_: Translator, pseudonym: str | None) -> str:
    """ "👤 Blue Fox 42" above a client's words in a staff chat."""
    return "👤 <b>" + _escape(pseudonyms.display(_, pseudonym)) + "</b>"


def note_text(_: Translator, conversation: ConversationView, note: NoteView) -> str:
    """ "📝 Note from Anna · Blue Fox 42" and the note, for staff only."""
    header = _.gettext("Note from %(name)s", name=note.author or "?")
    who = pseudonyms.display(_, conversation.pseudonym)
    return f"📝 <b>{_escape(header)}</b> · {_escape(who)}\n{_escape(note.text)}"


async def tell_client_who(
    session: AsyncSession,
    runtime: Runtime,
    conversation: ConversationView,
    member: StaffView,
    words: str = WELCOME,
) -> None:
    """The client learns the name and role of whoever is with them now."""

    def text(_: Translator) -> str:
        role = _.gettext(ROLE_NAMES.get(member.role, ROLE_NAMES["peer"]))
        return _.gettext(words, name=_escape(member.display_name), role=role)

    await notify.client(
        session,
        runtime,
        conversation.client_id,
        text,
        language=conversation.language,
        protect=runtime.settings.protect_content,
    )


async def show_notes(
    session: AsyncSession, runtime: Runtime, conversation: ConversationView, member: StaffView
) -> int:
    """Queue the conversation's notes for `member`, who has just got it; how many."""
    _ = notify.staff_translator(runtime, member)
    found = await case_history.notes(session, runtime.keys, conversation.id)
    for note in found:
        await notify.staff(session, runtime, member, note_text(_, conversation, note))
    return len(found)


async def relay_client_messages(
    session: AsyncSession, runtime: Runtime, conversation: ConversationView, member: StaffView
) -> None:
    """What the client wrote in this conversation, for the member who now holds it."""
    _ = notify.staff_translator(runtime, member)
    client_chat = await clients.chat_id(session, runtime.keys, conversation.client_id)
    staff_chat_ref = await staff_service.chat_ref(session, member.id)
    header = client_header(_, conversation.pseudonym)
    for message_id, incoming in await recorded.client_messages(
        session, runtime.keys, conversation.id, client_chat
    ):
        await relay.to_staff(
            session,
            runtime.keys,
            message_id=message_id,
            incoming=incoming,
            staff_id=member.id,
            staff_chat_ref=staff_chat_ref,
            header=header,
        )


async def take(
    session: AsyncSession,
    runtime: Runtime,
    member: StaffView,
    conversation_id: int | None = None,
    *,
    replay: bool = True,
) -> Moved | None:
    """Claim this conversation (or the next that fits) and hand it to `member`: the client
    is welcomed, and (`replay`) the member gets the notes and what the client wrote; in a
    staff-group topic they are there already. None if nothing could be taken; AtCapacity
    and NotAllowed as for queue.take."""
    conversation = await queue.take(session, member.id, conversation_id)
    if conversation is None:
        return None
    await tell_client_who(session, runtime, conversation, member)
    if replay:
        await show_notes(session, runtime, conversation, member)
        await relay_client_messages(session, runtime, conversation, member)
    return Moved(conversation, tuple(await queue.active_for_staff(session, member.id)))


async def take_over(
    session: AsyncSession, runtime: Runtime, member: StaffView, conversation_id: int
) -> Moved:
    """A supervisor takes a conversation over from its consultant: the client is told who
    continues, the consultant that the supervisor took over (and thanked); the supervisor
    gets the notes (they read along, so the messages they have). NotAllowed / AtCapacity as
    for a transfer."""
    conversation, before = await desk.take_over(session, member.id, conversation_id)
    await tell_client_who(session, runtime, conversation, member, CONTINUES)
    previous = await staff_service.get(session, before) if before is not None else None
    if previous is not None:

        def thanks(_: Translator) -> str:
            return "↪️ " + _.gettext(
                "%(name)s has taken over %(who)s. Thank you for your work with them; "
                "you can let this one go.",
                name=_escape(member.display_name),
                who=_escape(pseudonyms.display(_, conversation.pseudonym)),
            )

        await notify.staff(session, runtime, previous, thanks, protect=True)
    await show_notes(session, runtime, conversation, member)
    holding = tuple(await queue.active_for_staff(session, member.id))
    return Moved(conversation, holding, previous)


async def release(
    session: AsyncSession, runtime: Runtime, staff_id: int, conversation_id: int
) -> Moved | None:
    """Back to the queue at its old place, for someone else; the client is told. None if
    it is not this member's active conversation (any more)."""
    try:
        conversation = await queue.release(session, staff_id, conversation_id)
    except queue.NotAllowed:  # the client ended it a moment earlier, or not theirs
        return None
    await notify.client(
        session,
        runtime,
        conversation.client_id,
        lambda _: _.gettext(STEPPED_AWAY),
        language=conversation.language,
    )
    return Moved(conversation, tuple(await queue.active_for_staff(session, staff_id)))
