"""Shared by the consultant flows: who the staff member is, and their language."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update

from bot.callbacks import encode
from bot.i18n import Translator
from bot.services import outbox, queue, relay, staff
from bot.services.queue import ConversationView
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import PeerlineContext


async def current_staff(update: Update, context: PeerlineContext) -> StaffView | None:
    """The sender as active staff, or None: the front door's answer for this update when it
    has one (handlers/door.py), else a lookup of its own."""
    if context.visitor is not None:
        return context.visitor.staff
    runtime = context.runtime
    async with runtime.transaction() as session:
        return await staff.find_by_telegram(session, runtime.keys, update.effective_user.id)


sender_staff = current_staff


def staff_translator(context: PeerlineContext, member: StaffView) -> Translator:
    """Staff read the bot in the first language they serve (notices are queued for them
    without an update, so it cannot depend on the device)."""
    return context.runtime.i18n.get(member.languages[0] if member.languages else None)


def telegram_language(update: Update, context: PeerlineContext) -> Translator:
    """For someone who is not (yet) staff: their Telegram app's language, never stored."""
    user = update.effective_user
    return context.runtime.i18n.get(
        context.runtime.i18n.suggest(user.language_code if user else None)
    )


async def require_staff(update: Update, context: PeerlineContext) -> StaffView | None:
    """The sender as staff, or a polite refusal."""
    member = await current_staff(update, context)
    if member is None:
        _ = telegram_language(update, context)
        if update.callback_query:
            await update.callback_query.answer(_.gettext("This is for consultants only."))
        else:
            await update.effective_message.reply_text(_.gettext("This is for consultants only."))
    return member


async def target_conversation(
    session,
    member: StaffView,
    reply_to: Message | None,  # type: ignore[no-untyped-def]
) -> tuple[ConversationView | None, list[ConversationView]]:
    """Where a consultant's message goes: the conversation of the relayed message they
    replied to, else their current one, else their only one. Never a guess."""
    active = await queue.active_for_staff(session, member.id)
    by_id = {c.id: c for c in active}
    if reply_to is not None:
        message_id = await outbox.find_by_sent_message(
            session, f"staff:{member.id}", reply_to.message_id
        )
        conversation_id = await relay.conversation_of(session, message_id) if message_id else None
        if conversation_id in by_id:
            return by_id[conversation_id], active
    if member.current_conversation_id in by_id:
        return by_id[member.current_conversation_id], active
    if len(active) == 1:
        return active[0], active
    return None, active


async def ask_which(update: Update, _: Translator, active: list[ConversationView]) -> None:
    """No conversation could be chosen for a command: say why, or offer the open ones (the
    buttons make one current; the consultant then sends the command again)."""
    if not active:
        await update.effective_message.reply_text(_.gettext("You have no open conversation."))
        return
    rows = [
        [Button(screens.client_name(_, c.pseudonym), callback_data=encode("cur", c.id))]
        for c in active
    ]
    await update.effective_message.reply_text(
        _.gettext("Which conversation? Reply to a client's message, or choose one first."),
        reply_markup=Keyboard(rows),
    )


async def command_conversation(
    update: Update, context: PeerlineContext, member: StaffView, _: Translator
) -> ConversationView | None:
    """The conversation a consultant's command is about (as for their messages: the one
    replied to, else the current one, else the only one); otherwise ask which."""
    async with context.runtime.transaction() as session:
        conversation, active = await target_conversation(
            session, member, update.effective_message.reply_to_message
        )
    if conversation is None:
        await ask_which(update, _, active)
    return conversation
