"""A team member's own "/" menu and welcome, queued in the outbox.

Telegram keeps a command menu per chat (`setMyCommands` with a chat scope), which beats the
clients' default menu. Each staff member gets their role's commands in their language (the
first one they serve), set when they join or change, reset when they leave, and set again at
every bot start (cheap and idempotent, so a menu lost or changed in a new release heals).

Everything goes through the outbox, so the CLI, which has no running bot, queues the same rows
the bot does; the delivery worker puts the chat id into the scope (bot/delivery.py).
Menus wait behind replies (broadcast priority): they are never urgent.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot import guide
from bot.crypto import Keys
from bot.i18n import I18n
from bot.services import outbox, staff
from bot.services.staff import StaffView

SET, DELETE = "setMyCommands", "deleteMyCommands"
CHAT_SCOPE = {"type": "chat"}  # the worker adds the chat_id


def _recipient(member: StaffView) -> str:
    return f"staff:{member.id}"


def _language(member: StaffView) -> str | None:
    return member.languages[0] if member.languages else None


async def queue_menu(session: AsyncSession, keys: Keys, i18n: I18n, member: StaffView) -> int:
    """Their role's commands, one line each, in their language, as their own "/" menu."""
    _ = i18n.get(_language(member))
    commands = [[name, line[:256]] for name, line in guide.menu_for(_, member.role)]
    return await outbox.enqueue(
        session,
        keys,
        chat_ref=await staff.chat_ref(session, member.id),
        recipient=_recipient(member),
        method=SET,
        params={"commands": commands, "scope": CHAT_SCOPE},
        priority=outbox.BROADCAST_PRIORITY,
    )


async def queue_menu_reset(session: AsyncSession, keys: Keys, staff_id: int) -> int:
    """Back to the clients' menu (someone who left the team)."""
    return await outbox.enqueue(
        session,
        keys,
        chat_ref=await staff.chat_ref(session, staff_id),
        recipient=f"staff:{staff_id}",
        method=DELETE,
        params={"scope": CHAT_SCOPE},
        priority=outbox.BROADCAST_PRIORITY,
    )


async def queue_welcome(session: AsyncSession, keys: Keys, i18n: I18n, member: StaffView) -> int:
    """The welcome with the first three steps (for someone added from the CLI), then their
    menu."""
    _ = i18n.get(_language(member))
    welcome_id = await outbox.enqueue(
        session,
        keys,
        chat_ref=await staff.chat_ref(session, member.id),
        recipient=_recipient(member),
        method="sendMessage",
        params={
            "text": guide.welcome(_, member.role, member.display_name),
            "parse_mode": "HTML",
        },
    )
    await queue_menu(session, keys, i18n, member)
    return welcome_id


async def queue_all_menus(session: AsyncSession, keys: Keys, i18n: I18n) -> int:
    """Every active member's menu again (at bot start); returns how many were queued."""
    members = await staff.list_staff(session)
    for member in members:
        await queue_menu(session, keys, i18n, member)
    return len(members)
