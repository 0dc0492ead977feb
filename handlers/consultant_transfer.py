"""/transfer: a consultant hands a conversation to a role or to a colleague on duty.

To a role: back to the queue, and only that role may take it. To a colleague on duty: it
stays open, now theirs; they get the notes and the client's messages, and the client is told
who continues. Every button re-checks that the sender is active staff and that the
conversation is open and theirs, in the same transaction as the change, so a stale or forged
button moves nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import PickConversation, TransferToColleague, TransferToRole, encode, pattern_for
from bot.i18n import Translator
from bot.services import handover, notify, queue, staff, staff_duty
from bot.services.queue import ConversationView
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    answer_query,
    callback_of,
    escape,
    query_of,
)
from handlers.intake import notify_staff
from handlers.staff_common import (
    command_conversation,
    edit_pressed,
    message_of,
    pick,
    require_staff,
    staff_translator,
    tell_client,
)

# The roles a conversation can be handed to (supervisors and admins take from any queue).
TRANSFER_ROLES = ("lawyer", "psychologist", "medic", "peer")
MAX_COLLEAGUE_BUTTONS = 20


def _role_name(_: Translator, role: str) -> str:
    return _.gettext(screens.ROLE_NAMES.get(role, screens.ROLE_NAMES["peer"]))


async def _holding(context: PeerlineContext, member: StaffView, _: Translator) -> str:
    """Where the member's next plain message goes, after a hand-over."""
    async with context.runtime.transaction() as session:
        return screens.holding_line(_, await queue.active_for_staff(session, member.id))


async def transfer_command(update: Update, context: PeerlineContext) -> None:
    """/transfer: buttons to hand the conversation to a role or a colleague on duty."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation = await command_conversation(update, context, member, _, "transfer")
    if conversation is None:
        return
    text, keyboard = await transfer_screen(context, member, _, conversation)
    await message_of(update).reply_text(text, reply_markup=keyboard)


async def transfer_picked(update: Update, context: PeerlineContext) -> None:
    choice = await pick(update, context)
    if choice is None:
        return
    member, _ = choice.member, choice.translator
    text, keyboard = await transfer_screen(context, member, _, choice.conversation)
    query = query_of(update)
    await answer_query(update, context)
    await query.edit_message_text(text, reply_markup=keyboard)


async def transfer_screen(
    context: PeerlineContext, member: StaffView, _: Translator, conversation: ConversationView
) -> tuple[str, Keyboard]:
    async with context.runtime.transaction() as session:
        colleagues = [
            s
            for s in await staff.list_staff(session)
            if s.on_duty and s.id != member.id and conversation.language in s.languages
        ][:MAX_COLLEAGUE_BUTTONS]
    roles = [
        Button(
            "→ " + _role_name(_, role),
            callback_data=encode(TransferToRole(conversation_id=conversation.id, role=role)),
        )
        for role in TRANSFER_ROLES
    ]
    rows = [roles[i : i + 2] for i in range(0, len(roles), 2)]
    for colleague in colleagues:
        label = f"👤 {colleague.display_name} ({_role_name(_, colleague.role)})"
        rows.append(
            [
                Button(
                    label,
                    callback_data=encode(
                        TransferToColleague(conversation_id=conversation.id, staff_id=colleague.id)
                    ),
                )
            ]
        )
    text = _.gettext(
        "Hand %(who)s over. To a role: back to the queue, only for that role. "
        "To a colleague on duty: it stays open, with them. "
        "They see your notes first: write a /note before, if they should know something.",
        who=screens.client_name(_, conversation.pseudonym),
    )
    return text, Keyboard(rows)


async def transfer_to_role(update: Update, context: PeerlineContext) -> None:
    """A role button: back to the queue for that role; the client and that role's staff
    on duty are told."""
    member = await require_staff(update, context)
    if member is None:
        return
    callback = callback_of(update, TransferToRole)
    conversation_id, role = callback.conversation_id, callback.role
    _ = staff_translator(context, member)
    runtime = context.runtime
    wanted: list[StaffView] = []
    async with runtime.transaction() as session:
        try:
            conversation = await queue.transfer(session, member.id, conversation_id, to_role=role)
        except queue.NotAllowed:  # closed, released or handed over meanwhile; not theirs
            conversation = None
        if conversation is not None:
            client_ = runtime.i18n.get(conversation.language)
            await tell_client(
                context,
                session,
                conversation,
                client_.gettext(
                    "Your consultant handed your request to a colleague (%(role)s). It is back "
                    "in the queue: they will see everything you wrote and answer here.",
                    role=_role_name(client_, role),
                ),
            )
            on_duty = await staff_duty.on_duty_for(
                session, language=conversation.language, topic=conversation.topic, urgent=True
            )
            wanted = [
                s
                for s in on_duty
                if s.role == role and conversation.language in s.languages and s.id != member.id
            ]
            await notify_staff(context, session, conversation, wanted)
    if conversation is None:
        await edit_pressed(update, context, escape(_.gettext("This conversation is not open.")))
        return
    who = screens.client_name(_, conversation.pseudonym)
    text = _.gettext(
        "%(who)s is back in the queue, only for: %(role)s.", who=who, role=_role_name(_, role)
    )
    if not wanted:
        text += "\n" + _.gettext("Nobody of this role is on duty now: it waits for the next one.")
    await edit_pressed(
        update, context, escape("\n".join(filter(None, (text, await _holding(context, member, _)))))
    )


async def transfer_to_person(update: Update, context: PeerlineContext) -> None:
    """A colleague button: the conversation stays open, now theirs. They get the notes and
    the client's messages; the client is told who continues."""
    member = await require_staff(update, context)
    if member is None:
        return
    callback = callback_of(update, TransferToColleague)
    conversation_id, target_id = callback.conversation_id, callback.staff_id
    _ = staff_translator(context, member)
    runtime = context.runtime
    conversation, problem = None, None
    async with runtime.transaction() as session:
        target = await staff.get(session, target_id)
        if target is None or not target.active or not target.on_duty:
            problem = _.gettext("This colleague is not on duty any more.")
        else:
            try:
                conversation = await queue.transfer(
                    session, member.id, conversation_id, to_staff_id=target_id
                )
            except queue.AtCapacity:
                problem = _.gettext(
                    "%(name)s has no room for another conversation now.", name=target.display_name
                )
            except queue.NotAllowed:
                problem = _.gettext("This conversation is not open.")
        if conversation is not None and target is not None:
            await _hand_over(context, session, conversation, member, target)
    if conversation is None or target is None:
        await edit_pressed(update, context, escape(problem or ""))
        return
    text = _.gettext(
        "%(who)s is now with %(name)s.",
        who=screens.client_name(_, conversation.pseudonym),
        name=target.display_name,
    )
    await edit_pressed(
        update, context, escape("\n".join(filter(None, (text, await _holding(context, member, _)))))
    )


async def _hand_over(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    member: StaffView,
    target: StaffView,
) -> None:
    """Tell the client who continues, and give the colleague the notes and the messages."""
    runtime = context.runtime
    client_ = runtime.i18n.get(conversation.language)
    await tell_client(
        context,
        session,
        conversation,
        client_.gettext(
            "<b>%(name)s</b> (%(role)s) continues this conversation with you. Write here as "
            "before: they do not see your name or your account.",
            name=escape(target.display_name),
            role=_role_name(client_, target.role),
        ),
    )
    _ = staff_translator(context, target)
    text = _.gettext(
        "<b>%(name)s handed a conversation over to you:</b> %(conversation)s\n"
        "Their notes and the client's messages follow. /close when you are done.",
        name=escape(member.display_name),
        conversation=screens.conversation_line(_, conversation),
    )
    # Where their next plain message goes now: never a silent switch.
    holding = screens.holding_line(_, await queue.active_for_staff(session, target.id))
    await notify.send(
        session,
        runtime.keys,
        chat_ref=await staff.chat_ref(session, target.id),
        recipient=f"staff:{target.id}",
        text="↪️ " + text + "\n" + escape(holding),
    )
    await handover.show_notes(session, runtime, conversation, target)
    await handover.relay_client_messages(session, runtime, conversation, target)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("transfer", transfer_command, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(transfer_to_role, pattern=pattern_for(TransferToRole)))
    app.add_handler(
        CallbackQueryHandler(transfer_to_person, pattern=pattern_for(TransferToColleague))
    )
    app.add_handler(
        CallbackQueryHandler(transfer_picked, pattern=pattern_for(PickConversation, "transfer"))
    )
