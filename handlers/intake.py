"""Opening a request to a human, shared by the consultation and humanitarian-aid flows: the
request queued, the consultants on duty told, and what the client is then told
(`Opened`, shown by handlers/intake_screens.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Take, encode
from bot.services import estimates, notify, queue, relay, requests, rota, staff, staff_duty
from bot.services.clients import ClientState
from bot.services.queue import ConversationView
from bot.services.relay import Incoming
from bot.services.staff import StaffView
from handlers import forum_common, screens
from handlers.common import PeerlineContext


@dataclass(frozen=True)
class Opened:
    conversation: ConversationView | None  # None: the client already had one open
    existing: ConversationView | None
    position: int | None = None
    estimate: int | None = None
    staffed: bool = False
    hours: str = ""  # when someone is usually on call, for "nobody is on duty"
    # Nobody on duty writes the client's language, but someone writes one of these (the
    # client may read them, by settings): the client is offered to continue in one.
    alternatives: tuple[str, ...] = ()
    # An urgent request went to everyone on duty, none of whom writes the client's language:
    # the languages the consultant may answer in.
    may_write: tuple[str, ...] = ()


async def open_request(
    context: PeerlineContext,
    client: ClientState,
    *,
    topic: str,
    urgent: bool,
    kind: str = "consult",
    first: Incoming | None = None,
) -> Opened:
    """Queue a conversation (with its first message, if any) and notify consultants on duty,
    in one transaction; then wake the outbox worker."""
    runtime = context.runtime
    async with runtime.transaction() as session:
        try:
            conversation = await requests.open_conversation(
                session,
                client_id=client.id,
                topic=topic,
                language=client.language or runtime.i18n.default,
                country=client.country or "other",
                urgent=urgent,
                kind=kind,
            )
        except queue.AlreadyOpen as exc:
            return Opened(None, exc.conversation)
        if first is not None:
            await relay.record(
                session,
                runtime.keys,
                conversation_id=conversation.id,
                author="client",
                incoming=first,
            )
        on_duty = await staff_duty.on_duty_for(
            session, language=conversation.language, topic=topic, urgent=urgent
        )
        await notify_staff(context, session, conversation, on_duty)
        opened = await _opened(context, session, conversation, on_duty)
    await forum_common.open_topic(context, conversation)
    return opened


async def _opened(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    on_duty: list[StaffView],
    *,
    offer: bool = True,
) -> Opened:
    """What the client is told about their queued request (see `queued_screen`)."""
    runtime = context.runtime
    language = conversation.language
    fallbacks = runtime.settings.language_fallbacks.get(language, ())
    hours = ""
    alternatives: tuple[str, ...] = ()
    may_write: tuple[str, ...] = ()
    if not on_duty:
        hours = await rota.office_hours_text(
            session,
            runtime.i18n.get(language),
            tz=runtime.settings.timezone,
            fallback=runtime.settings.office_hours,
        )
        if offer:
            alternatives = tuple(
                [
                    other
                    for other in fallbacks
                    if await staff_duty.on_duty_for(
                        session, language=other, topic=conversation.topic
                    )
                ]
            )
    elif conversation.urgent and not any(language in m.languages for m in on_duty):
        written = {lang for m in on_duty for lang in m.languages}
        may_write = tuple(
            [lang for lang in fallbacks if lang in written]
            + sorted(written - set(fallbacks) - {language})
        )
    return Opened(
        conversation,
        None,
        await estimates.queue_position(session, conversation.id),
        await estimates.wait_estimate_minutes(session, conversation.id),
        bool(on_duty),
        hours,
        alternatives,
        may_write,
    )


async def choose_language(
    context: PeerlineContext, conversation: ConversationView, language: str | None
) -> Opened | None:
    """The client's answer to "continue in another language?": re-target the waiting
    request to `language` and notify the consultants on duty who write it, or (None) keep
    it waiting for its own. None if the request is no longer waiting or the language is
    not one its client may be offered."""
    fallbacks = context.runtime.settings.language_fallbacks.get(conversation.language, ())
    if language is not None and language not in fallbacks:
        return None
    async with context.runtime.transaction() as session:
        if language is not None:
            moved = await requests.set_language(session, conversation.id, language)
            if moved is None:
                return None
            conversation = moved
        on_duty = await staff_duty.on_duty_for(
            session, language=conversation.language, topic=conversation.topic
        )
        if language is not None:
            await notify_staff(context, session, conversation, on_duty)
        return await _opened(context, session, conversation, on_duty, offer=False)


async def notify_staff(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    on_duty: Sequence[StaffView],
) -> None:
    """Queue a "new request" notice with a Take button to each matching consultant on duty."""
    runtime = context.runtime
    for member in on_duty:
        _ = runtime.i18n.get(member.languages[0] if member.languages else None)
        label = _.gettext("🚨 URGENT request") if conversation.urgent else _.gettext("New request")
        text = f"<b>{label}</b>: " + screens.conversation_line(_, conversation)
        take = [
            [
                {
                    "text": _.gettext("Take it"),
                    "callback_data": encode(Take(conversation_id=conversation.id)),
                }
            ]
        ]
        await notify.send(
            session,
            runtime.keys,
            chat_ref=await staff.chat_ref(session, member.id),
            recipient=f"staff:{member.id}",
            text=text,
            buttons=take,
        )


async def escalate(context: PeerlineContext, conversation_id: int) -> bool:
    """Make a client's open request urgent: a waiting one re-alerts every consultant on duty
    for it and the supervisors on duty; an active one alerts the consultant who holds it.
    False if it was urgent already (nobody is alerted twice)."""
    runtime = context.runtime
    async with runtime.transaction() as session:
        conversation = await requests.escalate(session, conversation_id)
        if conversation is None:
            return False
        if conversation.staff_id is not None:
            member = await staff.get(session, conversation.staff_id)
            if member is not None:
                await _urgent_notice(context, session, conversation, member, take=False)
            return True
        on_duty = await staff_duty.on_duty_for(
            session, language=conversation.language, topic=conversation.topic, urgent=True
        )
        supervisors = [
            m
            for m in await staff.list_staff(session)
            if m.can_supervise and m.on_duty and m.id not in {o.id for o in on_duty}
        ]
        for member in [*on_duty, *supervisors]:
            await _urgent_notice(context, session, conversation, member, take=True)
    return True


async def _urgent_notice(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    member: StaffView,
    *,
    take: bool,
) -> None:
    runtime = context.runtime
    _ = runtime.i18n.get(member.languages[0] if member.languages else None)
    text = (
        "<b>"
        + _.gettext("🚨 Now URGENT: danger in the client's words")
        + "</b>: "
        + screens.conversation_line(_, conversation)
    )
    buttons = (
        [
            [
                {
                    "text": _.gettext("Take it"),
                    "callback_data": encode(Take(conversation_id=conversation.id)),
                }
            ]
        ]
        if take
        else None
    )
    await notify.send(
        session,
        runtime.keys,
        chat_ref=await staff.chat_ref(session, member.id),
        recipient=f"staff:{member.id}",
        text=text,
        buttons=buttons,
    )
