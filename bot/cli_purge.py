"""`peerline purge`: delete message texts past the retention period, then compact the database.

The bot runs the same purge daily (`bot.services.privacy.run_retention`); this command is for
running it by hand, e.g. after lowering PEERLINE_RETENTION_DAYS or before taking a backup.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from bot.config import Settings

if TYPE_CHECKING:
    from bot.services.privacy import PurgeReport


async def _purge(settings: Settings, days: int, full: bool) -> PurgeReport:
    from bot.db import make_engine, make_session_factory
    from bot.services.privacy import purge_and_compact

    engine = make_engine(settings.effective_database_url)
    try:
        return await purge_and_compact(
            engine, make_session_factory(engine), retention_days=days, full=full
        )
    finally:
        await engine.dispose()


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    days = settings.retention_days if args.days is None else args.days
    if days < 1:
        print("peerline: --days must be at least 1", file=sys.stderr)
        return 2
    from bot.db import is_sqlite, upgrade_to_head

    url = settings.effective_database_url
    upgrade_to_head(url)
    report = asyncio.run(_purge(settings, days, args.full))
    print(f"retention {days} day{'' if days == 1 else 's'}: {report.summary()}")
    if not report.compacted:
        print(
            "peerline: the database was purged, but another process kept its write-ahead log "
            "from being emptied; deleted text may remain on disk until `peerline purge` runs "
            "again",
            file=sys.stderr,
        )
        return 1
    if is_sqlite(url):
        print("database compacted: deleted rows are gone from the database file and its WAL")
    elif args.full:
        print("messages and outbox rewritten (VACUUM FULL) without the deleted rows")
    else:
        print(
            "messages and outbox vacuumed: PostgreSQL reuses the space of deleted rows but "
            "does not overwrite it at once (--full rewrites the tables)"
        )
    return 0


def register(sub: Any) -> None:
    """Add the `purge` command to the top-level sub-parsers."""
    p = sub.add_parser(
        "purge", help="delete message texts past the retention period, then compact the database"
    )
    p.add_argument(
        "--days",
        type=int,
        help="retention period in days (default: PEERLINE_RETENTION_DAYS, 90 if unset)",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="PostgreSQL: VACUUM FULL, which rewrites the purged tables so deleted rows leave "
        "the table files, but locks them meanwhile (the bot waits); SQLite always rebuilds",
    )
    p.set_defaults(func=cmd_purge)
