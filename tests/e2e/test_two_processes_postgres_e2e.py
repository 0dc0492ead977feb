"""Two bot processes on one PostgreSQL database behind one webhook URL (README, "Scale out").

Telegram has one webhook URL per bot, so, as in production, a reverse proxy sits in front:
here a tiny round-robin in the test (deploy/Caddyfile and deploy/nginx.conf are the real
ones), which tries the other process when one does not answer. Clients and consultants act
at the same time; afterwards: no conversation was taken twice, every message reached the
other side exactly once and in order, and a scheduled channel post was published once,
though both processes' schedulers were due to publish it at the same moment.

Skipped unless PEERLINE_TEST_POSTGRES_URL is set (CI sets it); the test makes a database of
its own on that server and drops it at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from bot.crypto import Keys
from bot.db import make_engine, make_session_factory
from bot.models import AuditEntry, Conversation
from bot.services import channels, post_drafts, post_schedule, posts
from tests.e2e import driver
from tests.e2e.test_consultation_e2e import onboard_and_ask

POSTGRES_URL = os.environ.get("PEERLINE_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs PEERLINE_TEST_POSTGRES_URL")

CONSULTANTS = (8_500_001, 8_500_002, 8_500_003)
CLIENTS = tuple(6_500_001 + i for i in range(6))
CHANNEL_ID, CHANNEL_TITLE = -1001500000001, "Harm reduction news"
ADMIN = {"user_id": 8_500_100, "first_name": "Olena"}
POST_TEXT = "Naloxone saves lives: ask us anonymously."
POST_DUE_IN = 45.0  # seconds after the set-up; both processes are up and busy by then

BotFactory = Callable[..., Awaitable[driver.BotProcess]]


class RoundRobin(RequestHandler):
    """Forwards each webhook call to the next bot process, as the proxy in deploy/ does."""

    def initialize(self, upstreams: list[int], turn: itertools.count[int]) -> None:  # type: ignore[override]
        self.upstreams, self.turn = upstreams, turn

    async def post(self, _path: str) -> None:
        start = next(self.turn)
        headers = {k: v for k, v in self.request.headers.items() if k.lower() != "host"}
        async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
            for i in range(len(self.upstreams)):
                port = self.upstreams[(start + i) % len(self.upstreams)]
                url = f"http://{driver.LOOPBACK}:{port}{self.request.path}"
                try:
                    answer = await client.post(url, content=self.request.body, headers=headers)
                except httpx.TransportError:
                    continue  # that process is down: the next one (Caddy's lb_try_duration)
                self.set_status(answer.status_code)
                self.finish(answer.content)
                return
        self.set_status(502)
        self.finish()


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A database of this test's own on the PostgreSQL server."""
    assert POSTGRES_URL
    name = f"peerline_e2e_{secrets.token_hex(4)}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[int, list[int]]]:
    """(the proxy's port, the list of bot ports it forwards to, filled in by the test)."""
    upstreams: list[int] = []
    app = Application([(r"/(.*)", RoundRobin, {"upstreams": upstreams, "turn": itertools.count()})])
    server = HTTPServer(app)
    sockets = bind_sockets(0, driver.LOOPBACK)
    server.add_sockets(sockets)
    yield sockets[0].getsockname()[1], upstreams
    server.stop()


async def schedule_post(url: str, secret: str) -> None:
    """A channel post due in POST_DUE_IN seconds, written straight into the database (how it
    was written is the channel-admin tests' business; this one is about who publishes it)."""
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            await channels.register(
                session,
                Keys(secret),
                chat_id=CHANNEL_ID,
                title=CHANNEL_TITLE,
                by=None,
                language="ru",
            )
            post_id = await post_drafts.create(session, author_id=None, versions={"ru": POST_TEXT})
            await post_drafts.set_subscribers(session, post_id, False)
            now = posts.utcnow()
            await post_schedule.schedule(
                session,
                post_id,
                now + timedelta(seconds=POST_DUE_IN),
                now=now,
                by=None,
                template_slugs=(),  # not made from a ready-made post
            )
    finally:
        await engine.dispose()


def cli(args: list[str], data: Path, secret: str, env: dict[str, str]) -> None:
    """`peerline <args>` against the test's PostgreSQL database."""
    data.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=driver.bot_env(
            data, secret, **{k: v for k, v in env.items() if k != "PEERLINE_SECRET_KEY"}
        ),
        cwd=data,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


async def who_holds(
    consultants: list[driver.TelegramUser], count: int, timeout: float = 20.0
) -> dict[int, tuple[driver.TelegramUser, driver.BotMessage]]:
    """Client n -> (the consultant who got their first message, that message)."""
    found: dict[int, tuple[driver.TelegramUser, driver.BotMessage]] = {}
    deadline = asyncio.get_running_loop().time() + timeout
    while len(found) < count and asyncio.get_running_loop().time() < deadline:
        for consultant in consultants:
            for message in await consultant.bot_messages():
                for n in range(count):
                    if f"q-{n}-0" in message.text.split():
                        found.setdefault(n, (consultant, message))
        await asyncio.sleep(0.3)
    return found


def header_of(message: driver.BotMessage, tag: str) -> str:
    """The client's name over `tag` in a message that shows several clients' texts."""
    name = ""
    for line in message.text.split("\n"):
        if line.startswith("👤"):
            name = line.removeprefix("👤").strip()
        elif tag in line.split():
            return name
    raise AssertionError(f"{tag} not in {message.text!r}")


async def tags_seen(reader: driver.TelegramUser, prefix: str) -> list[str]:
    return [w for m in await reader.bot_messages() for w in m.text.split() if w.startswith(prefix)]


async def test_two_processes_share_one_postgresql_without_doubling_anything(
    database: str,  # first: dropped only after the bots have stopped
    proxy: tuple[int, list[int]],
    start_bot: BotFactory,
    emulator: driver.Emulator,
    tmp_path: Path,
) -> None:
    proxy_port, upstreams = proxy
    token = driver.new_token()
    secret = secrets.token_urlsafe(48)
    env = {
        "PEERLINE_DATABASE_URL": database,
        "PEERLINE_SECRET_KEY": secret,
        "PEERLINE_WEBHOOK_URL": f"http://{driver.LOOPBACK}:{proxy_port}/telegram",
        "PEERLINE_WEBHOOK_SECRET": secrets.token_urlsafe(32),
    }
    data = tmp_path / "cli"
    cli(["migrate"], data, secret, env)
    for n, consultant_id in enumerate(CONSULTANTS):
        add = ["consultants", "add", str(consultant_id), "--name", f"C{n}", "--role", "peer"]
        cli([*add, "--languages", "en"], data, secret, env)
    await schedule_post(database, secret)
    admin = emulator.user(token, **ADMIN)
    channel = await emulator.create_channel(token, CHANNEL_ID, CHANNEL_TITLE, admins=[admin])
    await channel.add_bot(admin)

    bots = []
    for name in ("one", "two"):
        bot = await start_bot(name=name, mode="webhook", token=token, extra_env=env)
        upstreams.append(bot.webhook_port or 0)
        bots.append(bot)

    consultants = [
        bots[0].user(user_id=c, first_name=f"C{n}", language_code="en")
        for n, c in enumerate(CONSULTANTS)
    ]
    clients = [
        bots[0].user(user_id=c, first_name=f"K{n}", language_code="en")
        for n, c in enumerate(CLIENTS)
    ]
    for consultant in consultants:
        await consultant.send_command("duty", "on")
        await consultant.wait_for_message("on duty")
    await asyncio.gather(*(onboard_and_ask(client) for client in clients))

    async def take(consultant: driver.TelegramUser) -> None:
        for _ in range(3):  # nine takes at once for six conversations
            await consultant.send_command("take")

    await asyncio.gather(*(take(c) for c in consultants))
    for client in clients:
        await client.wait_for_message("is now with you")

    # Every client writes three messages, at the same time as everybody else. One person's
    # messages follow each other (Telegram numbers them in the chat); a test that fired them
    # all at once would ask two processes to guess an order nobody gave.
    async def three(n: int, client: driver.TelegramUser) -> None:
        for i in range(3):
            await client.send_text(f"q-{n}-{i}")

    await asyncio.gather(*(three(n, client) for n, client in enumerate(clients)))
    holder = await who_holds(consultants, len(clients))
    assert sorted(holder) == list(range(len(clients))), holder.keys()

    # Each consultant answers each of their clients twice, replying to the client's message
    # (with several clients that is how the bot knows whom the answer is for). Texts of
    # clients who wrote at once may have reached the consultant together in one message: a
    # reply to that one is asked about, and the consultant presses the client it is for. The
    # two answers to one client follow each other, as a person's do; consultants at once.
    async def answer(consultant: driver.TelegramUser) -> None:
        for n, (held_by, first) in sorted(holder.items()):
            if held_by is not consultant:
                continue
            for i in range(2):
                await consultant.send_text(f"a-{n}-{i}", reply_to=first)
                if first.text.count("👤") > 1:
                    asked = await consultant.wait_for_message("several clients")
                    name = header_of(first, f"q-{n}-0")
                    await consultant.press(
                        next(b for b in asked.button_texts if name in b), on=asked
                    )
                    await consultant.wait_for_message(f"Sent to {name}")

    await asyncio.gather(*(answer(c) for c in consultants))
    for n, client in enumerate(clients):
        await client.wait_for_message(f"a-{n}-1")
    await asyncio.sleep(2)  # a double would be on its way by now
    for n, client in enumerate(clients):
        consultant = holder[n][0]
        assert await tags_seen(consultant, f"q-{n}-") == [f"q-{n}-{i}" for i in range(3)]
        assert await tags_seen(client, f"a-{n}-") == [f"a-{n}-{i}" for i in range(2)]
        for other in consultants:  # nobody else got them
            assert other is consultant or not await tags_seen(other, f"q-{n}-")

    engine = create_async_engine(database, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            takes = (
                await conn.execute(
                    select(AuditEntry.conversation_id, func.count())
                    .where(AuditEntry.action == "take")
                    .group_by(AuditEntry.conversation_id)
                )
            ).all()
            assigned = await conn.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.staff_id.is_not(None))
            )
    finally:
        await engine.dispose()
    assert assigned == len(CLIENTS)
    assert len(takes) == len(CLIENTS) and all(count == 1 for _, count in takes), takes

    await driver.keep_waiting(lambda: channel.wait_for_post(POST_TEXT), total=POST_DUE_IN + 30)
    await asyncio.sleep(3)  # both schedulers were due at once: a second copy would be here
    assert [p.text for p in await channel.posts()].count(POST_TEXT) == 1
    for bot in bots:
        assert bot.is_running()
        assert "Traceback" not in bot.log_text()
