"""`peerline report --from DATE --to DATE [--country CC] --format csv|md|xlsx [--output FILE]`:
the donor indicators of a period, small numbers suppressed, audited like the bot's /report."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bot.config import Settings


async def _report(settings: Settings, args: argparse.Namespace) -> bytes:
    from bot.db import make_engine, make_session_factory
    from bot.i18n import I18n
    from bot.services import report_files, reports

    where = reports.scope(args.first, args.last, args.country)
    gettext = I18n(settings.default_language).get(args.language).gettext
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            found = await reports.compute(session, where)
            await reports.audit(session, None, args.format, where)
    finally:
        await engine.dispose()
    table = report_files.table(found, settings.report_min_cell, gettext)
    return report_files.render(table, args.format, gettext)


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db import upgrade_to_head
    from bot.services.reports import BadPeriod

    upgrade_to_head(settings.effective_database_url)
    try:
        content = asyncio.run(_report(settings, args))
    except BadPeriod as exc:
        print(f"peerline: {exc}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_bytes(content)
        print(f"report written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    return 0


def register(sub: Any) -> None:
    """Add the `report` command to the top-level sub-parsers."""
    p = sub.add_parser("report", help="indicators of a period, small numbers suppressed")
    p.add_argument(
        "--from", dest="first", type=date.fromisoformat, required=True, help="YYYY-MM-DD"
    )
    p.add_argument("--to", dest="last", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    p.add_argument("--country", help="only this country (e.g. KZ)")
    p.add_argument("--format", choices=("csv", "md", "xlsx"), default="csv")
    p.add_argument("--language", choices=("ru", "uk", "kk", "en"), default="en")
    p.add_argument("--output", help="a file to write (default: standard output)")
    p.set_defaults(func=cmd_report)
