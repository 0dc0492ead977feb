"""/dashboard for supervisors (issues 10 and 13 share it): the team's live desk, then this
month's figures so far, with the same small-number protection as /report.

The desk is the screen /desk shows (handlers/desk.py); the figures are /report's totals for
the current month up to today (handlers/report.py), as text: the files and charts stay with
/report, which a supervisor asks for when a donor does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.services import reach, reports
from handlers import desk, report
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, message_of
from handlers.staff_common import require_staff, staff_translator


def month_so_far(today: date) -> reports.Scope:
    return reports.scope(reach.month(today).first, today, None)


async def dashboard_command(update: Update, context: PeerlineContext) -> None:
    """The desk, then the month's totals. The front door refuses everyone but supervisors
    (bot/permissions.py: "dashboard"); the desk service checks again."""
    member = await require_staff(update, context)
    if member is None:
        return
    message = message_of(update)
    screen = await desk.render(context, member)
    if screen is None:  # not (or no longer) a supervisor
        return
    await message.reply_text(screen[0], reply_markup=screen[1])
    runtime = context.runtime
    _ = staff_translator(context, member)
    where = month_so_far(datetime.now(UTC).date())
    async with runtime.transaction() as session:
        found = await reports.compute(session, where)
        await reports.audit(session, member.id, "dashboard", where)
    names = report.namer(runtime, _)
    table = reports.files(
        found, runtime.settings.report_min_cell, _.gettext, formats=(), charts=False, names=names
    ).table
    text = report.summary(_, table.title, table.rows, files_follow=False)
    hint = _.gettext("/report month sends last month's table as files, with charts.")
    await message.reply_html(text + "\n" + hint)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("dashboard", dashboard_command, filters=PRIVATE_MESSAGE))
