"""`peerline backup FILE` and `peerline restore FILE`: encrypted SQLite backups (bot/backup.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot import instance_lock
from bot.backup import BackupError, backup, restore
from bot.config import Settings


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    try:
        report = backup(
            settings.effective_database_url, settings.resolve_secret_key(), Path(args.file)
        )
    except BackupError as exc:
        print(f"peerline: {exc}", file=sys.stderr)
        return 1
    print(
        f"backup written to {report.path} ({report.file_bytes} bytes, encrypted; database "
        f"{report.database_bytes} bytes). It can only be restored with the same "
        "PEERLINE_SECRET_KEY: keep the key somewhere other than the backup."
    )
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    try:
        path = restore(
            settings.effective_database_url, settings.resolve_secret_key(), Path(args.file)
        )
    except instance_lock.AlreadyRunning:
        print(
            "peerline: the bot is running on this database: stop it first, then restore",
            file=sys.stderr,
        )
        return 2
    except BackupError as exc:
        print(f"peerline: {exc}", file=sys.stderr)
        return 1
    print(f"database {path} restored from {args.file}; start the bot again")
    return 0


def register(sub: Any) -> None:
    b = sub.add_parser("backup", help="write an encrypted backup of the SQLite database")
    b.add_argument("file", help="where to write the backup (e.g. /backups/peerline-DATE.bak)")
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser(
        "restore", help="replace the SQLite database with a backup (stop the bot first)"
    )
    r.add_argument("file", help="a file written by `peerline backup`")
    r.set_defaults(func=cmd_restore)
