"""Builds the python-telegram-bot Application: runtime, handlers, start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import BaseRequest

from bot import delivery_failures, guide, maintenance, ops_http
from bot.config import LANGUAGES, Settings
from bot.db import is_sqlite
from bot.delivery import DeliveryWorker
from bot.i18n import N_
from bot.runtime import Runtime
from bot.services import directory, staff_guide
from bot.trace_recorder import TraceRecorder
from handlers import register
from handlers import report as report_handlers
from handlers.common import BotData, PeerlineContext

log = logging.getLogger(__name__)

COMMANDS = guide.CLIENT_COMMANDS  # the clients' menu; staff get their own (bot/guide.py)
DESCRIPTION = N_(
    "Anonymous help for people who use drugs and those close to them: overdose first aid, "
    "substitution therapy, HIV, TB and hepatitis care, testing, legal help and services near "
    "you. We do not store your name or Telegram ID. Press Start."
)
SHORT_DESCRIPTION = N_("Anonymous help and services for people who use drugs.")


def build_application(
    settings: Settings, *, runtime: Runtime | None = None, request: BaseRequest | None = None
) -> Application:
    """The whole bot, ready to run; `request` lets tests replace the network."""
    runtime = runtime or Runtime.create(settings)
    api = settings.telegram_api_url
    builder = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .context_types(ContextTypes(context=PeerlineContext, bot_data=BotData))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        # Sees every Bot API call: records what the bot puts in private chats, for /hide.
        .rate_limiter(TraceRecorder(runtime))
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    app.bot_data.runtime = runtime
    register(app)
    report_handlers.register(app)  # supervisors' /report (issue 13)
    # Counters for /metrics: a group of its own before every other, so nothing stops it.
    app.add_handler(TypeHandler(Update, _count_update), group=METRICS_GROUP)
    app.add_error_handler(_count_error)
    return app


METRICS_GROUP = -1000  # before the front door (handlers/door.py, -100), which may end an update


async def _count_update(update: Update, context: PeerlineContext) -> None:
    context.runtime.metrics.updates_total += 1


async def _count_error(update: object, context: PeerlineContext) -> None:
    context.runtime.metrics.handler_errors_total += 1


async def _post_init(app: Application) -> None:
    runtime: Runtime = app.bot_data.runtime
    async with runtime.transaction() as session:
        added = await directory.seed_if_empty(session)
    if added:
        log.info("referral directory seeded with %d services", added)
    runtime.bot_username = runtime.settings.bot_username or app.bot.username
    # Each team member's own menu again (a new release may have changed their commands).
    async with runtime.transaction() as session:
        await staff_guide.queue_all_menus(session, runtime.keys, runtime.i18n)
    # The outbox worker resumes whatever was queued before a restart.
    worker = make_delivery_worker(app)
    app.bot_data.delivery = worker
    runtime.outbox_ready = worker.wake
    runtime.note_send = worker.note_other_send
    worker.start()
    app.bot_data.maintenance = maintenance.start(runtime)
    runtime.ops_server = ops_http.start(runtime)
    # In the background: a dozen Bot API calls must not hold back the first update after a
    # restart (a crisis line's recovery time counts from the restart).
    app.bot_data.commands = asyncio.create_task(publish_commands(app), name="peerline-commands")


def make_delivery_worker(app: Application, **options: Any) -> DeliveryWorker:
    """The outbox worker, with what a failed delivery means (see `delivery_failures.make_on_dead`).
    `options` are the worker's pacing and timing knobs (tests pass a fake clock)."""
    runtime: Runtime = app.bot_data.runtime
    return DeliveryWorker(
        app.bot,
        runtime.sessions,
        runtime.keys,
        on_dead=delivery_failures.make_on_dead(runtime),
        # SQLite: one process per database (bot/instance_lock.py), so a starting worker frees
        # every other worker's leases at once (bot/delivery_lease.py).
        one_process=is_sqlite(runtime.settings.effective_database_url),
        **options,
    )


async def publish_commands(app: Application) -> None:
    """Commands and descriptions in each language, so Telegram's own UI is translated too."""
    runtime: Runtime = app.bot_data.runtime
    try:
        for language in (None, *LANGUAGES):
            _ = runtime.i18n.get(language)
            commands = [BotCommand(name, _.gettext(text)) for name, text in COMMANDS]
            await app.bot.set_my_commands(commands, language_code=language)
            await app.bot.set_my_description(_.gettext(DESCRIPTION), language_code=language)
            await app.bot.set_my_short_description(
                _.gettext(SHORT_DESCRIPTION), language_code=language
            )
    except TelegramError as exc:  # cosmetic: the bot works without them
        log.warning("could not publish commands and descriptions: %s", exc.message)


async def _post_shutdown(app: Application) -> None:
    runtime: Runtime = app.bot_data.runtime
    if app.bot_data.commands is not None and not app.bot_data.commands.done():
        app.bot_data.commands.cancel()  # cosmetic; the next start publishes them again
    await maintenance.stop(app.bot_data.maintenance)
    await ops_http.stop(runtime.ops_server)
    runtime.ops_server = None
    if app.bot_data.delivery is not None:
        await app.bot_data.delivery.stop()
    await runtime.engine.dispose()
