"""`peerline posts log`: what channel admins published, edited, deleted or decided, and when.

The same record is in the audit log the bot keeps; this prints it for the organisation (for
example for a donor report or to check who posted what). No client data is in it.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings


async def _log(settings: Settings, days: int) -> list[str]:
    from bot.db import make_engine, make_session_factory
    from bot.services import post_log, posts

    engine = make_engine(settings.effective_database_url)
    zone = ZoneInfo(settings.timezone)
    try:
        async with make_session_factory(engine)() as session:
            lines = await post_log.log(session, since=posts.utcnow() - timedelta(days=days))
    finally:
        await engine.dispose()
    return [
        f"{line.at.astimezone(zone):%Y-%m-%d %H:%M}  {line.who:<20}  {line.action:<18}  "
        f"{line.detail}"
        for line in lines
    ]


def cmd_posts(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db import upgrade_to_head

    upgrade_to_head(settings.effective_database_url)
    lines = asyncio.run(_log(settings, args.days))
    print(f"channel admins' log, last {args.days} days ({settings.timezone}):")
    for line in lines:
        print(line)
    if not lines:
        print("nothing")
    return 0


def register(sub: Any) -> None:
    """Add the `posts` command to the top-level sub-parsers."""
    p = sub.add_parser("posts", help="what channel admins posted: who, what, where, when")
    p.add_argument("action", choices=["log"])
    p.add_argument("--days", type=int, default=30, help="how far back (default 30 days)")
    p.set_defaults(func=cmd_posts)
