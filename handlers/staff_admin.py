"""Joining the team: /invite (admins), the one-time invite link (/start inv_...), /name."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, filters

from bot import guide
from bot.services import staff, staff_accounts, staff_duty, staff_guide
from bot.services.staff import StaffError
from handlers import screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, user_id_of
from handlers.staff_common import (
    command_text,
    current_staff,
    message_of,
    require_staff,
    staff_translator,
    telegram_language,
)

PRIVATE = PRIVATE_MESSAGE
# Before onboarding's /start (group 0): an invitation is not a client's first contact.
GROUP = -3
INVITE_START = filters.Regex(r"^/start inv_[A-Za-z0-9_-]{8,60}$")


async def invite(update: Update, context: PeerlineContext) -> None:
    """/invite ROLE: a one-time link for a new staff member (admins only)."""
    runtime = context.runtime
    member = await current_staff(update, context)
    is_admin = user_id_of(update) in runtime.settings.admin_ids or (
        member is not None and member.role == "admin"
    )
    _ = staff_translator(context, member) if member else telegram_language(update, context)
    if not is_admin:
        await message_of(update).reply_text(_.gettext("This is for admins only."))
        return
    role = (context.args or ["peer"])[0].lower()
    if role not in staff.ROLES:
        await message_of(update).reply_text(
            _.gettext(
                "Usage: /invite ROLE, where ROLE is one of: %(roles)s", roles=", ".join(staff.ROLES)
            )
        )
        return
    async with runtime.transaction() as session:
        token = await staff_accounts.create_invite(session, role=role)
    username = runtime.settings.bot_username or context.bot.username
    link = f"https://t.me/{username}?start={token}"
    await message_of(update).reply_text(
        _.gettext(
            "Send this link to the new %(role)s. It works once, for 48 hours:\n%(link)s",
            role=_.gettext(screens.ROLE_NAMES[role]),
            link=link,
        ),
        protect_content=True,
    )


async def redeem(update: Update, context: PeerlineContext) -> None:
    """/start inv_...: become staff of the invited role, welcomed with the first steps."""
    runtime = context.runtime
    token = command_text(update).strip()  # the filter matched "/start inv_..."
    _ = telegram_language(update, context)
    async with runtime.transaction() as session:
        try:
            member = await staff_accounts.redeem_invite(
                session,
                runtime.keys,
                token=token,
                telegram_id=user_id_of(update),
                display_name=_.gettext("Consultant"),
                language=_.language,
            )
            # Their own "/" menu, with their role's commands (bot/services/staff_guide.py).
            await staff_guide.queue_menu(session, runtime.keys, runtime.i18n, member)
        except StaffError:
            member = None
    if member is None:
        await message_of(update).reply_text(
            _.gettext(
                "This invitation link is not valid: it was used or it expired. "
                "Ask an admin for a new one."
            )
        )
        raise ApplicationHandlerStop
    _ = staff_translator(context, member)
    await message_of(update).reply_text(
        guide.welcome(_, member.role, member.display_name), parse_mode="HTML"
    )
    raise ApplicationHandlerStop  # the invitation is handled: no client onboarding


async def name(update: Update, context: PeerlineContext) -> None:
    """/name NAME: the name clients see."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    wanted = " ".join(context.args or []).strip()
    try:
        async with context.runtime.transaction() as session:
            member = await staff_duty.set_profile(session, member.id, display_name=wanted)
    except StaffError:
        await message_of(update).reply_text(
            _.gettext(
                "This name cannot be used. Use 1–40 letters, and nothing that looks like the "
                "bot or a system message. Example: /name Anna"
            )
        )
        return
    await message_of(update).reply_text(
        _.gettext("Clients will now see you as “%(name)s”.", name=member.display_name)
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("start", redeem, filters=PRIVATE & INVITE_START), group=GROUP)
    app.add_handler(CommandHandler("invite", invite, filters=PRIVATE))
    app.add_handler(CommandHandler("name", name, filters=PRIVATE))
