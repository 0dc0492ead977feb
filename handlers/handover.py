"""Handing a conversation to a consultant (take, transfer): notes first, then what the
client wrote. Shared by the consultant flows, so none imports another."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.services import case_history, clients, notify, recorded, relay, staff
from bot.services.case_history import NoteView
from bot.services.queue import ConversationView
from bot.services.relay import Incoming
from bot.services.staff import StaffView
from handlers import forum_common, screens, supervision
from handlers.common import PeerlineContext, escape
from handlers.staff_common import staff_translator


def note_text(_: Translator, conversation: ConversationView, note: NoteView) -> str:
    """ "📝 Note from Anna · Blue Fox 42" and the note, for staff only."""
    header = _.gettext("Note from %(name)s", name=note.author or "?")
    who = screens.client_name(_, conversation.pseudonym)
    return f"📝 <b>{escape(header)}</b> · {escape(who)}\n{escape(note.text)}"


async def show_notes(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    member: StaffView,
) -> int:
    """Queue the conversation's notes for `member`, who has just got it; how many.

    Call in the transaction that hands it over (take, transfer), before the client's
    messages are queued for them: the outbox keeps each chat's order.
    """
    runtime = context.runtime
    _ = staff_translator(context, member)
    found = await case_history.notes(session, runtime.keys, conversation.id)
    if found:
        chat_ref = await staff.chat_ref(session, member.id)
        for note in found:
            await notify.send(
                session,
                runtime.keys,
                chat_ref=chat_ref,
                recipient=f"staff:{member.id}",
                text=note_text(_, conversation, note),
            )
    return len(found)


async def relay_client_messages(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    member: StaffView,
) -> None:
    """What the client wrote in this conversation, for the member who now holds it."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    client_chat = await clients.chat_id(session, runtime.keys, conversation.client_id)
    staff_chat_ref = await staff.chat_ref(session, member.id)
    header = screens.client_header(_, conversation.pseudonym)
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


async def tell_holder(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    text: Callable[[Translator], str],
) -> None:
    """Queue a notice to the consultant holding a conversation, in their language."""
    if conversation.staff_id is None:
        return
    member = await staff.get(session, conversation.staff_id)
    if member is None:
        return
    await notify.send(
        session,
        context.runtime.keys,
        chat_ref=await staff.chat_ref(session, member.id),
        recipient=f"staff:{member.id}",
        text=text(staff_translator(context, member)),
        protect_content=context.runtime.settings.protect_content,
    )


async def welcome_client(context, session, conversation: ConversationView, member) -> None:  # type: ignore[no-untyped-def]
    runtime = context.runtime
    _ = runtime.i18n.get(conversation.language)
    role = _.gettext(screens.ROLE_NAMES.get(member.role, screens.ROLE_NAMES["peer"]))
    text = _.gettext(
        "<b>%(name)s</b> (%(role)s) is now with you. Write here: they do not see your name "
        "or your account.",
        name=escape(member.display_name),
        role=role,
    )
    await notify.send(
        session,
        runtime.keys,
        chat_ref=await clients.chat_ref(session, conversation.client_id),
        recipient=f"client:{conversation.client_id}",
        text=text,
        protect_content=runtime.settings.protect_content,
    )


async def answer_client(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    member: StaffView,
    incoming: Incoming,
    *,
    mirror: bool = True,
) -> int | None:
    """A consultant's message to their client: recorded, copied to the client, and (unless
    it was written in the staff-group topic itself) mirrored there. None for a redelivery."""
    runtime = context.runtime
    message_id = await relay.record(
        session,
        runtime.keys,
        conversation_id=conversation.id,
        author="staff",
        staff_id=member.id,
        incoming=incoming,
    )
    if message_id is None:
        return None
    await relay.to_client(
        session,
        runtime.keys,
        message_id=message_id,
        incoming=incoming,
        client_id=conversation.client_id,
        client_chat_ref=await clients.chat_ref(session, conversation.client_id),
        protect_content=runtime.settings.protect_content,
    )
    await supervision.mirror(context, session, conversation, message_id, incoming, by=member)
    if mirror:
        header = forum_common.staff_header(member.display_name)
        await forum_common.mirror(
            context, session, conversation, message_id, incoming, header=header
        )
    return message_id
