"""Command line: `peerline run | migrate | directory import|export FILE | consultants ... |
purge | posts log | backup FILE | restore FILE | report`."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from bot import instance_lock
from bot.cli_backup import register as register_backup
from bot.cli_cases import register as register_cases
from bot.cli_posts import register as register_posts
from bot.cli_purge import register as register_purge
from bot.cli_report import register as register_report
from bot.cli_staff import register as register_consultants
from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging
from bot.services.content import ContentError


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.db import upgrade_to_head

    upgrade_to_head(settings.effective_database_url)
    logging.getLogger("peerline").info("database is at the latest revision")
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    settings.require_token()  # before anything slow, so a missing token is one clear line
    # Before migrating: a second process must not touch a database another one is using.
    lock = instance_lock.acquire(settings.effective_database_url)
    try:
        return _run(settings, args)
    finally:
        if lock is not None:
            lock.release()


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from telegram import Update

    from bot import polling, webhook
    from bot.app import build_application

    cmd_migrate(settings, args)
    app = build_application(settings)
    if settings.webhook_url:
        keys = app.bot_data.runtime.keys
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        # The public URL's own path (a reverse proxy may pass it through) plus an
        # unguessable last segment, so the endpoint cannot be found by scanning.
        secret_segment = keys.webhook_path()
        base_path = urlsplit(settings.webhook_url).path.strip("/")
        # Our own server, not app.run_webhook: see bot/webhook.py for why.
        try:
            serving = webhook.run(
                app,
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                path="/".join(part for part in (base_path, secret_segment) if part),
                secret=secret or keys.webhook_secret(),
                webhook_url=f"{settings.webhook_url}/{secret_segment}",
                max_body=settings.webhook_max_body,
                allowed_updates=Update.ALL_TYPES,
                metrics=app.bot_data.runtime.metrics,
            )
            asyncio.run(serving)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            where = f"{settings.webhook_listen}:{settings.webhook_port}"
            print(
                f"peerline: cannot listen on {where}: the port is in use (is another peerline "
                "running? set PEERLINE_WEBHOOK_PORT to run several on one machine)",
                file=sys.stderr,
            )
            return 2
    else:
        # Our own loop, not app.run_polling: it confirms an update only once it is handled
        # (bot/polling.py).
        asyncio.run(polling.run(app, allowed_updates=Update.ALL_TYPES))
    return 0


async def _directory(settings: Settings, action: str, path: Path) -> int:
    if path.suffix.lower() not in (".csv", ".yaml", ".yml"):
        print(f"peerline: {path} must end in .csv, .yaml or .yml", file=sys.stderr)
        return 2
    from bot.db import make_engine, make_session_factory
    from bot.services import directory_io

    engine = make_engine(settings.effective_database_url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            if action == "import":
                result = await directory_io.import_file(session, path)
                print(f"imported {path}: {result.summary()}")
            else:
                count = await directory_io.export_services(session, path)
                print(f"exported {count} services to {path}")
    except directory_io.DirectoryImportFailed as exc:
        print(f"nothing imported from {path}:", file=sys.stderr)
        for error in exc.errors:
            print(f"  line {error.line}, field {error.field}: {error.message}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    return 0


def cmd_directory(settings: Settings, args: argparse.Namespace) -> int:
    cmd_migrate(settings, args)
    return asyncio.run(_directory(settings, args.action, Path(args.file)))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="peerline", description="Peerline: anonymous peer consultation and referral bot."
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="upgrade the database, then run the bot").set_defaults(func=cmd_run)
    sub.add_parser("migrate", help="upgrade the database to the latest revision").set_defaults(
        func=cmd_migrate
    )
    d = sub.add_parser("directory", help="import or export the referral directory")
    d.add_argument("action", choices=["import", "export"])
    d.add_argument("file", help="a .csv or .yaml file")
    d.set_defaults(func=cmd_directory)
    register_consultants(sub)
    register_purge(sub)
    register_posts(sub)
    register_backup(sub)
    register_cases(sub)
    register_report(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Everything the bot writes (database, WAL, generated key, exports) is readable by its own
    # user only: on a shared server another account must not read who asked for what.
    os.umask(0o077)
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        return args.func(settings, args)
    except (ConfigError, ContentError, instance_lock.AlreadyRunning) as exc:
        print(f"peerline: {exc}", file=sys.stderr)
        return 2
