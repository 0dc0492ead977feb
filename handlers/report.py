"""/report for supervisors: a period's indicators as a short summary, the full table as CSV
and xlsx, and three charts (issue 13). Audited like the command line's `peerline report`.

    /report                      the last full month
    /report quarter              the last full quarter (also: month, year)
    /report 2026-10-01 2026-12-31 [KZ]

Small numbers are suppressed everywhere (PEERLINE_REPORT_MIN_CELL, default 5). The figures
and charts are computed in a worker thread: drawing takes a moment and must not hold up
other people's updates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from html import escape

from telegram import InputFile, Update
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler

from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services import reach, reports
from bot.services.queue import SUPERVISING_ROLES
from bot.services.reports import BadPeriod
from handlers import screens
from handlers.common import PRIVATE_MESSAGE, PeerlineContext
from handlers.humanitarian import NEEDS
from handlers.staff_common import require_staff, staff_translator

SUMMARY_ROWS = 60  # the message shows totals; the files hold every row


def last_full(kind: str, today: date) -> tuple[date, date]:
    """The last complete calendar month, quarter or year before `today`."""
    take = {"month": reach.month, "quarter": reach.quarter, "year": reach.year}[kind]
    current = take(today)
    previous = take(current.first - timedelta(days=1))
    return previous.first, previous.last


def parse_args(args: list[str], today: date) -> reports.Scope:
    """The period and country a /report asks for; BadPeriod if they make no sense."""
    words = list(args)
    country = None
    if words and words[-1].isalpha() and words[-1].lower() not in ("month", "quarter", "year"):
        country = words.pop()
    try:
        if not words:
            first, last = last_full("month", today)
        elif len(words) == 1 and words[0].lower() in ("month", "quarter", "year"):
            first, last = last_full(words[0].lower(), today)
        elif len(words) == 2:
            first, last = date.fromisoformat(words[0]), date.fromisoformat(words[1])
        else:
            raise BadPeriod("expected: /report [month|quarter|year | FROM TO] [COUNTRY]")
    except ValueError as exc:
        raise BadPeriod(str(exc)) from exc
    return reports.scope(first, last, country)


def summary(
    _: Translator,
    table_title: list[str],
    rows: list[tuple[str, str, str, str]],
    *,
    files_follow: bool = True,
) -> str:
    """The totals of the table, as monospaced lines."""
    lines = [f"<b>{escape(table_title[0])}</b>", *(escape(line) for line in table_title[1:]), ""]
    total = _.gettext("total")
    seen: set[str] = set()
    body = []
    for indicator, _by, category, value in rows:
        if category == total and indicator not in seen:
            seen.add(indicator)
            body.append(f"{value:>6}  {indicator}")
    lines.append("<pre>" + escape("\n".join(body[:SUMMARY_ROWS])) + "</pre>")
    if files_follow:
        lines.append(_.gettext("The full table is in the files below, the charts after them."))
    return "\n".join(lines)


def namer(runtime: Runtime, _: Translator) -> Callable[[str, str], str]:
    """The report's categories in the supervisor's words ("ost" -> "OST", "ost_site" -> "OST
    sites"): the same vocabularies the bot's screens use. Countries, languages, consultants'
    ids and ratings stay as they are."""
    fixed = {
        "outcome": screens.OUTCOME_NAMES,
        "answer": screens.FOLLOW_UP_NAMES,
        "kind": NEEDS,
    }

    def name(dimension: str, code: str) -> str:
        if dimension in fixed and code in fixed[dimension]:
            return _.gettext(fixed[dimension][code])
        if dimension == "topic" and code in screens.TOPIC_NAMES:
            return _.gettext(screens.TOPIC_NAMES[code])
        node = f"svc_{code}" if dimension == "service" else code
        if dimension in ("topic", "service"):
            try:
                return runtime.content.button(node, _.language)
            except KeyError:  # a node without a button of its own, or gone since
                pass
        return code

    return name


async def report_command(update: Update, context: PeerlineContext) -> None:
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    if member.role not in SUPERVISING_ROLES:  # the front door refuses first; a second check
        await message.reply_text(_.gettext("This is for supervisors only."))
        return
    try:
        where = parse_args(context.args or [], datetime.now(UTC).date())
    except BadPeriod:
        await message.reply_text(
            _.gettext(
                "Which period? For example: /report quarter, or "
                "/report 2026-10-01 2026-12-31 KZ (the country is optional)."
            )
        )
        return
    runtime = context.runtime
    async with runtime.transaction() as session:
        found = await reports.compute(session, where)
        await reports.audit(session, member.id, "bot", where)
    threshold = runtime.settings.report_min_cell
    names = namer(runtime, _)
    made = await asyncio.to_thread(reports.files, found, threshold, _.gettext, names=names)
    chat_id = chat.id
    await message.reply_html(summary(_, made.table.title, made.table.rows))
    for name, content in made.documents:
        await context.bot.send_document(chat_id, InputFile(content, filename=name))
    for name, content in made.charts:
        await context.bot.send_photo(chat_id, InputFile(content, filename=name))


# Registered from bot/app.py, after handlers.register: a group of its own before the catch-all
# "unknown command" answer (group 0, handlers/fallback.py), which then must not run.
GROUP = -4


async def _report_then_stop(update: Update, context: PeerlineContext) -> None:
    await report_command(update, context)
    raise ApplicationHandlerStop


def register(app: Application) -> None:
    app.add_handler(
        CommandHandler("report", _report_then_stop, filters=PRIVATE_MESSAGE), group=GROUP
    )
