"""`peerline cases export [--from YYYY-MM] [--to YYYY-MM] [--out FILE]`: the finished
rights-violation case records as CSV, for advocacy (the same file as /cases in the bot).

Audited like the bot's export (bot/services/case_export.py), with no staff member: whoever runs
the command on the server is the organisation's administrator.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings


async def _export(settings: Settings, first: str | None, last: str | None) -> list[dict[str, str]]:
    from bot.db import make_engine, make_session_factory
    from bot.permissions import Role
    from bot.services import case_export

    engine = make_engine(settings.effective_database_url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            return await case_export.export(
                session, frozenset({Role.ADMIN}), staff_id=None, first=first, last=last, via="cli"
            )
    finally:
        await engine.dispose()


def cmd_cases(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db import upgrade_to_head
    from bot.services import case_export, case_fields

    months = {}
    for name in ("first", "last"):
        value = getattr(args, name)
        months[name] = case_fields.parse_month(value) if value is not None else None
        if value is not None and months[name] is None:
            flag = "--from" if name == "first" else "--to"
            print(f"peerline: {flag} must be a month such as 2026-03", file=sys.stderr)
            return 2
    upgrade_to_head(settings.effective_database_url)
    rows = asyncio.run(_export(settings, months["first"], months["last"]))
    data = case_export.to_csv(rows)
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"exported {len(rows)} case records to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(data.decode("utf-8-sig"))
        print(f"exported {len(rows)} case records", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    """Add the `cases` command to the top-level sub-parsers."""
    p = sub.add_parser("cases", help="export the anonymous rights-violation case records")
    p.add_argument("action", choices=["export"])
    p.add_argument("--from", dest="first", help="first month of the incidents, e.g. 2026-01")
    p.add_argument("--to", dest="last", help="last month of the incidents, e.g. 2026-03")
    p.add_argument("--out", help="write the CSV to this file (default: standard output)")
    p.set_defaults(func=cmd_cases)
