"""Shared by the consultant flows: who the staff member is, and their language."""

from __future__ import annotations

from telegram import Update

from bot.i18n import Translator
from bot.services import staff
from bot.services.staff import StaffView
from handlers.common import PeerlineContext


async def current_staff(update: Update, context: PeerlineContext) -> StaffView | None:
    """The sender as active staff (checked in the database on every call), or None."""
    runtime = context.runtime
    async with runtime.transaction() as session:
        return await staff.find_by_telegram(session, runtime.keys, update.effective_user.id)


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
