"""Blocks and the flood limit: /block, /unblock and /blocked, and the check before a client's
message or request is recorded (shared/SECURITY.md, flooding and harassment)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telegram import Message, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
)

from bot.callbacks import PickConversation, pattern_for
from bot.i18n import Translator
from bot.services import abuse, clients, closing, notify, pseudonyms, queue, staff
from bot.services.staff import StaffView
from handlers import guard, screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, query_of
from handlers.staff_common import (
    Target,
    ask_which,
    find_target,
    message_of,
    pick,
    require_staff,
    staff_translator,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

PRIVATE = PRIVATE_MESSAGE
# Any group before 0 keeps the unknown-command answer (fallback) from seeing these commands,
# wherever register() is called; commands only, so nothing else in -1 (the humanitarian
# form's free text) competes for the same update.
GROUP = -1
BLOCKED_LIST_MAX = 100  # lines in one /blocked answer (a message holds 4096 characters)

# What `async def handler(update, context) -> None` is, as PTB's handlers expect it.
Callback = Callable[[Update, PeerlineContext], Coroutine[Any, Any, None]]


async def _target(session: AsyncSession, member_id: int, reply_to: Message | None) -> Target:
    """The conversation of the relayed message replied to; without a reply, the only one.
    A reply that leads nowhere is not replaced by a guess: blocking the wrong person is
    worse than asking again."""
    member = await staff.get(session, member_id)
    if member is None or not member.active:
        return Target(None, [])
    target = await find_target(session, member, reply_to)
    if reply_to is not None and not target.by_reply:
        return Target(None, target.active)
    return target


def _argument(update: Update) -> str:
    """Everything after the command, line breaks kept."""
    return _argument_of(message_of(update))


def _argument_of(message: Message) -> str:
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def block_command(update: Update, context: PeerlineContext) -> None:
    """/block REASON: block the client of the current conversation, close it, tell them."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    reply = message_of(update).reply_text
    reason = _argument(update)
    if not reason:
        await reply(_.gettext("Please add a reason: /block REASON. The client does not see it."))
        return
    async with context.runtime.transaction() as session:
        target = await _target(session, member.id, message_of(update).reply_to_message)
    if target.conversation is None:
        await ask_which(update, context, _, target, "block")
        return
    await block(context, member, _, target.conversation.id, reason, reply)


async def block_picked(update: Update, context: PeerlineContext) -> None:
    """/block with several conversations, then one chosen: that client is blocked."""
    choice = await pick(update, context)
    if choice is None:
        return
    member, _ = choice.member, choice.translator
    conversation, original = choice.conversation, choice.original
    reason = _argument_of(original)
    await answer_query(update, context)
    if not reason:  # the question is only asked for a /block with a reason
        return
    query = query_of(update)
    await block(context, member, _, conversation.id, reason, query.edit_message_text)


async def block(
    context: PeerlineContext,
    member: StaffView,
    _: Translator,
    conversation_id: int,
    reason: str,
    reply: Callable[[str], Awaitable[object]],
) -> None:
    """Block the client of this conversation (if still open and theirs), close it, tell them."""
    runtime = context.runtime
    async with runtime.transaction() as session:
        active = {c.id: c for c in await queue.active_for_staff(session, member.id)}
        conversation = active.get(conversation_id)
        if conversation is not None:
            await abuse.block(
                session,
                client_id=conversation.client_id,
                staff_id=member.id,
                reason=reason,
                keys=runtime.keys,
                conversation_id=conversation.id,
            )
            # The client may have ended it a moment ago: the block holds all the same.
            await closing.close_conversation(
                session, runtime, conversation.id, staff_id=member.id, outcome="other",
                ask_rating=False,  # the client is told of the block instead
            )  # fmt: skip
            client_ = runtime.i18n.get(conversation.language)
            await notify.send(
                session,
                runtime.keys,
                chat_ref=await clients.chat_ref(session, conversation.client_id),
                recipient=f"client:{conversation.client_id}",
                text=guard.blocked_text(client_),
                buttons=screens.main_menu_button(client_).to_dict()["inline_keyboard"],
            )
    if conversation is None:
        await reply(_.gettext("This conversation is not open."))
        return
    await reply(
        _.gettext(
            "%(who)s is blocked and the conversation is closed. "
            "A supervisor can lift the block: /unblock %(pseudonym)s",
            who=screens.client_name(_, conversation.pseudonym),
            pseudonym=conversation.pseudonym,
        )
    )


async def _supervisor(update: Update, context: PeerlineContext) -> StaffView | None:
    """The sender as a supervisor or admin (checked in the database), or a polite refusal."""
    member = await require_staff(update, context)
    if member is not None and not member.can_supervise:
        _ = staff_translator(context, member)
        await message_of(update).reply_text(_.gettext("This is for supervisors only."))
        return None
    return member


async def unblock_command(update: Update, context: PeerlineContext) -> None:
    """/unblock NAME: lift a block (supervisors and admins)."""
    member = await _supervisor(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    # "Blue Fox 42" in any of our languages, its code, or an older "Client 482113".
    pseudonym = pseudonyms.from_text(_argument(update))
    if pseudonym is None:
        await message_of(update).reply_text(
            _.gettext(
                "Usage: /unblock NAME, the client's name as consultants see it, "
                "e.g. /unblock %(example)s",
                example=pseudonyms.render(pseudonyms.EXAMPLE, _.language),
            )
        )
        return
    try:
        async with context.runtime.transaction() as session:
            lifted = await abuse.unblock(session, pseudonym=pseudonym, staff_id=member.id)
    except PermissionError:  # their role changed since the check above
        lifted = None
    who = screens.client_name(_, pseudonym)
    if lifted is None:
        text = _.gettext("This is for supervisors only.")
    elif lifted:
        text = _.gettext("The block on %(who)s is lifted.", who=who)
    else:
        text = _.gettext("%(who)s is not blocked.", who=who)
    await message_of(update).reply_text(text)


async def blocked_command(update: Update, context: PeerlineContext) -> None:
    """/blocked: who is blocked, since when (supervisors and admins; no reasons shown)."""
    member = await _supervisor(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    async with context.runtime.transaction() as session:
        blocks = await abuse.list_blocks(session)
    if not blocks:
        await message_of(update).reply_text(_.gettext("Nobody is blocked."))
        return
    lines = [_.gettext("Blocked (/unblock NAME lifts a block):")]
    for item in blocks[:BLOCKED_LIST_MAX]:
        since = item.created_at.date().isoformat()
        lines.append(f"{screens.client_name(_, item.pseudonym)} · {since}")
    if len(blocks) > BLOCKED_LIST_MAX:
        lines.append(_.gettext("…and %(n)s more.", n=len(blocks) - BLOCKED_LIST_MAX))
    await message_of(update).reply_text("\n".join(lines))


def _final(callback: Callback) -> Callback:
    """Run the command, then end the update, so no later group answers it too."""

    async def run(update: Update, context: PeerlineContext) -> None:
        await callback(update, context)
        raise ApplicationHandlerStop

    return run


def register(app: Application) -> None:
    for name, callback in (
        ("block", block_command),
        ("unblock", unblock_command),
        ("blocked", blocked_command),
    ):
        app.add_handler(CommandHandler(name, _final(callback), filters=PRIVATE), group=GROUP)
    app.add_handler(
        CallbackQueryHandler(block_picked, pattern=pattern_for(PickConversation, "block"))
    )
