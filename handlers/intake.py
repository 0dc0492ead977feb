"""Opening a request to a human, shared by the consultation and humanitarian-aid flows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard

from bot.callbacks import encode
from bot.i18n import Translator
from bot.services import queue, relay, rota, staff
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
        on_duty = await staff.on_duty_for(
            session, language=conversation.language, topic=topic, urgent=urgent
        )
        await notify_staff(context, session, conversation, on_duty)
        hours = ""
        if not on_duty:
            hours = await rota.office_hours_text(
                session,
                runtime.i18n.get(conversation.language),
                tz=runtime.settings.timezone,
                fallback=runtime.settings.office_hours,
            )
        opened = Opened(
            conversation,
            None,
            await queue.queue_position(session, conversation.id),
            await queue.wait_estimate_minutes(session, conversation.id),
            bool(on_duty),
            hours,
        )
    await forum_common.open_topic(context, conversation)
    return opened


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
        on_duty = await staff.on_duty_for(
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
    rows = [[screens.first_aid_button(_)]]
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
