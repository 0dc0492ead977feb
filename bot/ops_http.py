"""GET /healthz and GET /metrics on an optional port (PEERLINE_METRICS_PORT), in polling and
webhook mode alike.

A separate port from the webhook's, because the webhook is public (behind a proxy) and these
are for the operator's monitoring only; by default it listens on localhost. Tornado is already
installed with python-telegram-bot's webhook extra, so this costs no new dependency.
"""

from __future__ import annotations

import logging
from typing import Any

import tornado.web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from tornado.httpserver import HTTPServer

from bot.metrics import QueueStats
from bot.runtime import Runtime
from bot.services import outbox_upkeep
from bot.services.queue_stats import queue_stats

log = logging.getLogger(__name__)


class _Base(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET",)

    def initialize(self, *, runtime: Runtime) -> None:
        self.runtime = runtime

    def log_exception(self, *args: Any) -> None:
        typ = args[0] if args else None
        log.warning("ops endpoint failed (%s)", getattr(typ, "__name__", typ))


class HealthHandler(_Base):
    """200 "ok" while the database answers; 503 otherwise (a load balancer's check)."""

    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        try:
            async with self.runtime.sessions() as session:
                await session.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            log.warning("healthz: the database does not answer (%s)", type(exc).__name__)
            self.set_status(503)
            self.finish("database unavailable\n")
            return
        self.finish("ok\n")


class MetricsHandler(_Base):
    """Prometheus text format: this process's counters plus the outbox and the queue as the
    database has them."""

    async def get(self) -> None:
        counts: dict[str, int] | None
        queue: QueueStats | None
        try:
            async with self.runtime.sessions() as session:
                counts = await outbox_upkeep.counts_by_status(session)
                queue = await queue_stats(session)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("metrics: could not read the outbox or queue (%s)", type(exc).__name__)
            counts = queue = None
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(self.runtime.metrics.render(outbox=counts, queue=queue))


def make_app(runtime: Runtime) -> tornado.web.Application:
    options = {"runtime": runtime}
    return tornado.web.Application(
        [(r"/healthz", HealthHandler, options), (r"/metrics", MetricsHandler, options)],
        log_function=lambda handler: None,
    )


def start(runtime: Runtime) -> HTTPServer | None:
    """Listen if a port is configured; must run inside the event loop."""
    port = runtime.settings.metrics_port
    if port is None:
        return None
    server = HTTPServer(make_app(runtime), max_body_size=4096, idle_connection_timeout=60.0)
    server.listen(port, address=runtime.settings.metrics_listen)
    log.info("health and metrics on %s:%d", runtime.settings.metrics_listen, port)
    return server


async def stop(server: HTTPServer | None) -> None:
    if server is not None:
        server.stop()
        await server.close_all_connections()
