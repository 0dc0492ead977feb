"""The "🔔 Remind me" button of an invitation: it opens the bot with /start remind_<post>, and
the client gets a message an hour before the event. Works from a channel too, for someone who
never used the bot (their chat with the bot starts here)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot.ids import parse_id
from bot.post_buttons import REMIND_PREFIX
from bot.services import posts, reminders
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    load_client,
    message_of,
    translator,
)
from handlers.navigation import next_step

REMIND_START = filters.Regex(rf"^/start {REMIND_PREFIX}\d{{1,10}}$")


async def remind_me(update: Update, context: PeerlineContext) -> None:
    client = await load_client(update, context)
    _ = translator(context, client)
    # REMIND_START lets 1-10 digits through: always a valid id, found or not.
    argument = context.args[0] if context.args else ""
    post_id = parse_id(argument.removeprefix(REMIND_PREFIX)) or 0
    runtime = context.runtime
    async with runtime.transaction() as session:
        added = await reminders.add(
            session, client_id=client.id, post_id=post_id, now=posts.utcnow()
        )
    zone = ZoneInfo(runtime.settings.timezone)
    when = added.event_at.astimezone(zone).strftime("%d.%m.%Y %H:%M") if added.event_at else ""
    if added.status == "added":
        text = _.gettext(
            "🔔 Done: I will remind you an hour before the event (%(when)s, %(zone)s).",
            when=when,
            zone=runtime.settings.timezone,
        )
    elif added.status == "exists":
        text = _.gettext(
            "🔔 You already asked: I will remind you before the event (%(when)s).", when=when
        )
    elif added.status == "over":
        text = _.gettext("This event has already started or is over.")
    else:
        text = _.gettext("This invitation is no longer available.")
    await message_of(update).reply_text(text)
    if not client.onboarded:
        await next_step(update, context, client)


def register(app: Application) -> None:
    # Before onboarding's /start, which would take "remind_12" for a menu node.
    app.add_handler(CommandHandler("start", remind_me, filters=PRIVATE_MESSAGE & REMIND_START))
