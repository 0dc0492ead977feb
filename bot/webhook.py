"""The webhook endpoint: a small tornado server in place of python-telegram-bot's own.

PTB's handler (telegram.ext._utils.webhookhandler) reads the whole body before it looks at the
secret (five parallel 90 MiB unauthenticated POSTs took the process to 653 MiB), answers 500 to
a body that is not JSON or not UTF-8, and logs an update it cannot parse whole at CRITICAL. It
is built inside `Updater._start_webhook` with no hook to replace it, so instead of patching
private code we run our own server, as PTB documents for custom webhook set-ups. Here:

- the body is streamed (`stream_request_body`): the secret and the declared size are checked
  from the headers, before one byte of the body is read;
- the body is limited (PEERLINE_WEBHOOK_MAX_BODY; Telegram's updates are a few KiB), and only
  a request with the right secret keeps what it sends;
- anything that is not a JSON object of an update gets 400, and its content is never logged;
- an update is answered 200 only after it has been handled (PTB's handler answers as soon as
  the update is queued in memory, so a crash in between lost it): after a crash Telegram
  sends it again, and a recorded message seen twice is a no-op (its `update_id`). Updates go
  through the application's update processor, so they are handled one at a time, in the
  order they arrived, as PTB's queue would.

`run` replaces `Application.run_webhook`: the same order of start-up and shutdown, and a busy
port is one clear error instead of a traceback after the bot has started.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram import Update
from telegram.ext import Application, ExtBot
from tornado.http1connection import HTTP1Connection
from tornado.httpserver import HTTPServer

from bot import polling
from bot.metrics import Metrics

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# How long a client may take to send its body; Telegram sends a few KiB at once.
BODY_TIMEOUT = 30.0


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """POST <secret path>: one update from Telegram."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(
        self, *, bot_app: Application, secret: str, max_body: int, metrics: Metrics
    ) -> None:
        self.bot_app = bot_app
        self.secret = secret.encode()
        self.max_body = max_body
        self.metrics = metrics
        self.chunks: list[bytes] = []
        self.received = 0
        self.refused = False

    def prepare(self) -> None:
        # Tornado stops reading (and answers 400) past this size, chunked bodies included.
        # (data_received checks the size again, whatever the connection.)
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):  # always, behind tornado's HTTPServer
            connection.set_max_body_size(self.max_body)
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            self.refuse(HTTPStatus.FORBIDDEN, unread=True)
            return
        declared = self.request.headers.get("Content-Length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            self.refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, unread=True)
            return
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            self.refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, unread=True)

    def refuse(self, status: HTTPStatus, *, unread: bool = False) -> None:
        """Answer `status`. `unread`: answered before the body was read, so the connection
        closes after it; said in the answer, or a client that reuses the connection for its
        next call finds it closed under it."""
        self.refused = True
        self.metrics.webhook_rejected(status)
        self.set_status(status)
        if unread:
            self.set_header("Connection", "close")
        self.finish()

    def data_received(self, chunk: bytes) -> None:
        # A refused request's body is read and thrown away (up to the limit), never kept.
        if self.refused:
            return
        self.received += len(chunk)
        if self.received > self.max_body:  # a chunked body grows past the limit
            self.chunks.clear()
            self.refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, unread=True)
            return
        self.chunks.append(chunk)

    async def post(self) -> None:
        if self.refused:  # refused while the body was arriving; already answered
            return
        body, self.chunks = b"".join(self.chunks), []
        try:
            data = json.loads(body)  # bytes: invalid UTF-8 is a ValueError too
        except (ValueError, RecursionError):
            self.refuse(HTTPStatus.BAD_REQUEST)
            return
        if not isinstance(data, dict):
            self.refuse(HTTPStatus.BAD_REQUEST)
            return
        bot = self.bot_app.bot
        try:
            update = Update.de_json(data, bot)
        except Exception as exc:  # PTB raises anything (KeyError, TypeError...) on odd payloads
            # The type only: the payload and the exception's text carry names and ids.
            log.warning(
                "webhook: an update that could not be read was refused (%s)", type(exc).__name__
            )
            self.refuse(HTTPStatus.BAD_REQUEST)
            return
        if isinstance(bot, ExtBot):  # arbitrary callback data, as PTB's handler does
            bot.insert_callback_data(update)
        await polling.handle(self.bot_app, update)
        self.set_status(HTTPStatus.OK)
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # No traceback or reason in the response, whatever happened.
        self.finish()

    def log_exception(self, *args: Any) -> None:
        # Tornado's default would log the request (the secret path) and the exception's text.
        typ = args[0] if args else None
        log.warning("webhook: request failed (%s)", getattr(typ, "__name__", typ))


def make_app(
    application: Application, *, path: str, secret: str, max_body: int, metrics: Metrics
) -> tornado.web.Application:
    options = {"bot_app": application, "secret": secret, "max_body": max_body}
    return tornado.web.Application(
        [(rf"/{path.strip('/')}/?", UpdateHandler, {**options, "metrics": metrics})],
        log_function=lambda handler: None,  # access lines carry the secret path
    )


def make_server(app: tornado.web.Application, *, max_body: int) -> HTTPServer:
    return HTTPServer(
        app,
        max_body_size=max_body,
        max_buffer_size=max(max_body, 64 * 1024) * 2,
        body_timeout=BODY_TIMEOUT,
        idle_connection_timeout=60.0,
    )


async def run(
    application: Application,
    *,
    listen: str,
    port: int,
    path: str,
    secret: str,
    webhook_url: str,
    max_body: int,
    allowed_updates: Sequence[str] | None,
    metrics: Metrics,
) -> None:
    """Serve the webhook until SIGINT or SIGTERM; the same lifecycle as PTB's run_webhook."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = make_server(
        make_app(application, path=path, secret=secret, max_body=max_body, metrics=metrics),
        max_body=max_body,
    )
    # Bind before anything else, so a busy port fails fast and before Telegram is pointed here.
    server.listen(port, address=listen)
    try:
        async with application:  # initialize ... shutdown
            if application.post_init:
                await application.post_init(application)
            await application.bot.set_webhook(
                webhook_url, secret_token=secret, allowed_updates=allowed_updates
            )
            await application.start()
            log.info("webhook server listening on %s:%d", listen, port)
            await stop.wait()
            server.stop()
            await server.close_all_connections()
            await application.stop()
            if application.post_stop:
                await application.post_stop(application)
        if application.post_shutdown:
            await application.post_shutdown(application)
    finally:
        server.stop()
