"""Opening a request to a human, shared by the consultation and humanitarian-aid flows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard

from bot.callbacks import encode
from bot.i18n import N_, Translator
from bot.services import queue, relay, rota, staff, staff_duty
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


# "in Russian" as it fits "who writes ..." / "continue ..." in each language.
IN_LANGUAGE = {
    "ru": N_("in Russian"),
    "uk": N_("in Ukrainian"),
    "kk": N_("in Kazakh"),
    "en": N_("in English"),
}
YES_LANGUAGE = {
    "ru": N_("Yes, Russian is fine"),
    "uk": N_("Yes, Ukrainian is fine"),
    "kk": N_("Yes, Kazakh is fine"),
    "en": N_("Yes, English is fine"),
}


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
            conversation = await queue.open_conversation(
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
    hours, alternatives, may_write = "", (), ()
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
        await queue.queue_position(session, conversation.id),
        await queue.wait_estimate_minutes(session, conversation.id),
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
            moved = await queue.set_language(session, conversation.id, language)
            if moved is None:
                return None
            conversation = moved
        on_duty = await staff_duty.on_duty_for(
            session, language=conversation.language, topic=conversation.topic
        )
        if language is not None:
            await notify_staff(context, session, conversation, on_duty)
        return await _opened(context, session, conversation, on_duty, offer=False)


async def notify_staff(context, session, conversation, on_duty) -> None:  # type: ignore[no-untyped-def]
    """Queue a "new request" notice with a Take button to each matching consultant on duty."""
    runtime = context.runtime
    for member in on_duty:
        _ = runtime.i18n.get(member.languages[0] if member.languages else None)
        label = _.gettext("🚨 URGENT request") if conversation.urgent else _.gettext("New request")
        text = f"<b>{label}</b>: " + screens.conversation_line(_, conversation)
        take = [[{"text": _.gettext("Take it"), "callback_data": encode("take", conversation.id)}]]
        await relay.notice(
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
        conversation = await queue.escalate(session, conversation_id)
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
        [[{"text": _.gettext("Take it"), "callback_data": encode("take", conversation.id)}]]
        if take
        else None
    )
    await relay.notice(
        session,
        runtime.keys,
        chat_ref=await staff.chat_ref(session, member.id),
        recipient=f"staff:{member.id}",
        text=text,
        buttons=buttons,
    )


def already_open(_: Translator, conversation_id: int) -> screens.Screen:
    text = _.gettext("You already have an open request. Write here to add to it, or end it below.")
    end = Button(_.gettext("End the conversation"), callback_data=encode("end", conversation_id))
    return text, Keyboard([[end], screens.nav_row(_, None)])


def queued_screen(_: Translator, context: PeerlineContext, opened: Opened) -> screens.Screen:
    text = queued_text(_, opened.position, opened.estimate, opened.staffed, opened.hours)
    conversation = opened.conversation
    assert conversation is not None
    rows = []
    if opened.alternatives:
        text += "\n\n" + _.gettext(
            "Nobody who writes %(own)s is on duty right now, but a consultant who writes "
            "%(other)s is. Would you like to continue %(other)s?",
            own=_.gettext(IN_LANGUAGE[conversation.language]),
            other=" / ".join(_.gettext(IN_LANGUAGE[lang]) for lang in opened.alternatives),
        )
        for lang in opened.alternatives:
            rows.append(
                [
                    Button(
                        _.gettext(YES_LANGUAGE[lang]),
                        callback_data=encode("lng", conversation.id, lang),
                    )
                ]
            )
        rows.append(
            [
                Button(
                    _.gettext("No, I will wait"), callback_data=encode("lng", conversation.id, "no")
                )
            ]
        )
    if opened.may_write:
        text += "\n\n" + _.gettext(
            "Nobody on duty right now writes %(own)s: the consultant may answer %(other)s.",
            own=_.gettext(IN_LANGUAGE[conversation.language]),
            other=" / ".join(_.gettext(IN_LANGUAGE[lang]) for lang in opened.may_write),
        )
    rows.append([screens.first_aid_button(_)])
    if not conversation.urgent:
        rows.append(
            [
                Button(
                    "🚨 " + _.gettext("It is urgent now"),
                    callback_data=encode("esc", conversation.id),
                )
            ]
        )
    rows.append(
        [Button(_.gettext("Cancel the request"), callback_data=encode("end", conversation.id))]
    )
    return text, Keyboard(rows)


def queued_text(
    _: Translator, position: int | None, estimate: int | None, staffed: bool, hours: str
) -> str:
    lines = [_.gettext("Your request is in the queue (number %(position)s).", position=position)]
    if not staffed:
        lines.append(
            _.gettext(
                "Nobody is on duty right now. Your request is saved: a consultant will answer "
                "when someone is back (usually %(hours)s).",
                hours=hours,
            )
            if hours
            else _.gettext(
                "Nobody is on duty right now. Your request is saved: a consultant will answer "
                "when someone is back."
            )
        )
    elif estimate is not None:
        lines.append(
            _.ngettext(
                "Usual wait: about %(n)s minute.", "Usual wait: about %(n)s minutes.", estimate
            )
        )
    lines.append(
        _.gettext(
            "Write your question here: your messages go to the consultant anonymously. "
            "You can add more at any time."
        )
    )
    return "\n".join(lines)
