"""What every handler needs, built once at start-up: settings, keys, database, texts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.crypto import Keys
from bot.db import make_engine, make_session_factory
from bot.i18n import I18n
from bot.metrics import Metrics
from bot.services import events
from bot.services.cities import CityIndex, load_cities
from bot.services.content import CONTENT_DIR, Content
from bot.services.ready_posts import ReadyPost, load_ready_posts

if TYPE_CHECKING:
    from tornado.httpserver import HTTPServer


@dataclass
class Runtime:
    settings: Settings
    keys: Keys
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    content: Content
    i18n: I18n
    cities: CityIndex
    # Called after a transaction that queued outbox rows; the app points it at the
    # delivery worker's wake-up, so relays go out at once instead of at the next poll.
    outbox_ready: Callable[[], None] = field(default=lambda: None)
    # Called for each message sent outside the outbox worker (bot/trace_recorder.py), so the
    # worker's pacing counts it in Telegram's ceiling for the whole bot.
    note_send: Callable[[], None] = field(default=lambda: None)
    # Ready-made posts (content/posts/) channel admins can start from.
    ready_posts: list[ReadyPost] = field(default_factory=list)
    # For deep links in posts (t.me/<bot>?start=...): from settings, else Telegram's getMe.
    bot_username: str | None = None
    # Per-process counters and periodic jobs' state, for /metrics (bot/metrics.py).
    metrics: Metrics = field(default_factory=Metrics)
    # The /healthz and /metrics server, when PEERLINE_METRICS_PORT is set (bot/ops_http.py).
    ops_server: HTTPServer | None = None

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.effective_database_url)
        events.install()  # anonymous report events, in the transaction of each change
        content = Content()
        # After any commit that queued outbox rows, wake the delivery worker (whatever
        # `outbox_ready` points at by then), so no flow has to remember to.
        holder: list[Runtime] = []
        sessions = make_session_factory(engine, on_outbox_commit=lambda: holder[0].outbox_ready())
        runtime = cls(
            settings=settings,
            keys=Keys(settings.resolve_secret_key()),
            engine=engine,
            sessions=sessions,
            content=content,
            i18n=I18n(settings.default_language),
            cities=load_cities(),
            ready_posts=load_ready_posts(CONTENT_DIR / "posts", node_ids=content.nodes.keys()),
        )
        holder.append(runtime)
        return runtime

    def now(self) -> datetime:
        """The scheduler's clock (UTC): the real time, plus PEERLINE_CLOCK_OFFSET_SECONDS in
        end-to-end tests."""
        return datetime.now(UTC) + timedelta(seconds=self.settings.clock_offset_seconds)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One short transaction: committed on success, rolled back on error.

        Handlers keep network calls outside it (shared/DESIGN.md).
        """
        async with self.sessions() as session, session.begin():
            yield session
