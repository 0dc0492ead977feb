"""A team member's own /start and /help: their desk and their commands, not a client's.

Registered before onboarding's /start and the client /help (group `GROUP`): for staff they
answer and end the update; for anyone else they step aside. A staff member still reaches the
client menus with /menu, and a deep link (/start <node>) still opens that menu node.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from telegram import Message, Update
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, filters

from bot import guide, permissions
from bot.i18n import Translator
from bot.services import queue
from bot.services.queue import ConversationView
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, escape
from handlers.door import visitor
from handlers.staff_common import staff_translator

# After the invitation link (-3), before onboarding's /start and the client /help (0).
GROUP = -2
BARE_START = filters.Regex(r"^/start(@\w+)?\s*$")


async def desk(update: Update, context: PeerlineContext) -> None:
    """/start for staff: on duty or not, who waits for them, the conversations they hold."""
    person = await visitor(update, context)
    member = person.staff
    if member is None:
        return  # a client: onboarding's /start
    _ = staff_translator(context, member)
    if permissions.allowed(person.roles, "queue"):
        async with context.runtime.transaction() as session:
            waiting = await queue.waiting_for(session, member.id)
            mine = await queue.active_for_staff(session, member.id)
        text = desk_text(_, member, waiting, mine, datetime.now(UTC))
    else:  # a channel admin: no queue, their commands instead
        text = guide.staff_help(_, member.role)
    await cast(Message, update.effective_message).reply_text(text, parse_mode="HTML")
    raise ApplicationHandlerStop


async def staff_help(update: Update, context: PeerlineContext) -> None:
    """/help for staff: their role's commands, one line each, then the client part."""
    member = (await visitor(update, context)).staff
    if member is None:
        return  # a client: the client /help
    _ = staff_translator(context, member)
    message = cast(Message, update.effective_message)  # a command in a private chat
    await message.reply_text(guide.staff_help(_, member.role), parse_mode="HTML")
    raise ApplicationHandlerStop


def desk_text(
    _: Translator,
    member: StaffView,
    waiting: list[ConversationView],
    mine: list[ConversationView],
    now: datetime,
) -> str:
    role = _.gettext(guide.ROLE_NAMES[member.role])
    lines = [
        _.gettext(
            "<b>Your desk</b> · %(name)s (%(role)s)", name=escape(member.display_name), role=role
        ),
        "🟢 " + _.gettext("On duty: new requests come here. /duty off to stop.")
        if member.on_duty
        else "⚪ " + _.gettext("Off duty. /duty on to receive requests."),
    ]
    urgent = sum(1 for c in waiting if c.urgent)
    if waiting:
        waits = _.gettext("Waiting for you: %(n)s (/queue, /take).", n=len(waiting))
        lines.append(waits + (" 🚨 " + _.gettext("urgent: %(n)s", n=urgent) if urgent else ""))
    else:
        lines.append(_.gettext("Nobody is waiting for you now."))
    if mine:
        lines += ["", _.gettext("<b>Your conversations: %(n)s</b>", n=len(mine))]
        lines += [f"• {open_line(_, c, now)}" for c in mine]
    else:
        lines += ["", _.gettext("You have no open conversation.")]
    lines += ["", _.gettext("/help – all your commands · /practice – try without a client")]
    return "\n".join(lines)


def open_line(_: Translator, conversation: ConversationView, now: datetime) -> str:
    """ "Client Brave Fox 12 · OST · 14 min": who, about what, for how long."""
    since = conversation.taken_at or conversation.created_at
    if since.tzinfo is None:  # SQLite hands back naive UTC
        since = since.replace(tzinfo=UTC)
    minutes = max(0, int((now - since).total_seconds() // 60))
    topic = _.gettext(screens.TOPIC_NAMES.get(conversation.topic, screens.TOPIC_NAMES["general"]))
    mark = "🚨 " if conversation.urgent else ""
    parts = [screens.client_name(_, conversation.pseudonym), topic]
    parts.append(_.gettext("%(minutes)s min", minutes=minutes))
    return mark + escape(" · ".join(parts))


def register(app: Application) -> None:
    app.add_handler(
        CommandHandler("start", desk, filters=PRIVATE_MESSAGE & BARE_START), group=GROUP
    )
    app.add_handler(CommandHandler("help", staff_help, filters=PRIVATE_MESSAGE), group=GROUP)
