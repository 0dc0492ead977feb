"""No name, username, Telegram id, token or message text in the log, whatever the logger and
level: python-telegram-bot logs an update it cannot parse whole at CRITICAL."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from telegram import Bot
from telegram.ext._utils.webhookhandler import WebhookAppClass
from telegram.request import BaseRequest, RequestData
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot import logs
from tests.conftest import TEST_TOKEN
from tests.harness import BOT_USER, BotHarness, FakeUser
from tests.test_webhook import Endpoint, endpoint  # noqa: F401  (fixture)

USER = FakeUser(id=5550077123, first_name="Zoryana", last_name="Canaryfield")
TEXT = "canary-9d1e: I use at the station every morning"
CANARIES = [USER.first_name, USER.last_name, USER.username, str(USER.id), TEXT, TEST_TOKEN]


def unparseable_update(update_id: int = 41) -> dict[str, Any]:
    """Readable JSON, but python-telegram-bot cannot build an Update from it (an entity without
    offset), so it logs the payload; everything personal in it is a canary."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": USER.chat(),
            "from": USER.as_dict(),
            "text": TEXT,
            "entities": [{"type": "bold"}],
        },
    }


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The log as an operator's file would have it: a root handler at DEBUG, set up the way
    `configure_logging` sets up its own (library levels pinned, the filter on every handler)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logs.pin_library_levels()
    logs.install_redaction()
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)
    for other in root.handlers:  # pytest's own capture handlers live for the whole session
        for installed in [f for f in other.filters if isinstance(f, logs.Redactor)]:
            other.removeFilter(installed)


def hits(log_text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in log_text]


class UpdatesFromTelegram(BaseRequest):
    """getUpdates answers with one update python-telegram-bot cannot parse."""

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(  # type: ignore[override]
        self, url: str, method: str, request_data: RequestData | None = None, **_: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        result: Any = BOT_USER if name == "getMe" else [unparseable_update()]
        return 200, json.dumps({"ok": True, "result": result}).encode()


async def test_an_unparseable_update_from_get_updates_leaves_no_identity(captured) -> None:
    request = UpdatesFromTelegram()
    bot = Bot(TEST_TOKEN, request=request, get_updates_request=request)
    await bot.initialize()
    with pytest.raises(TypeError):
        await bot.get_updates()
    log_text = captured.getvalue()
    assert "CRITICAL telegram" in log_text, "the record itself stays: something happened"
    assert hits(log_text) == []


async def test_an_unparseable_update_through_our_webhook_leaves_no_identity(
    endpoint: Endpoint,  # noqa: F811
    captured,
) -> None:
    for update_id in range(30):
        response = await endpoint.post(json.dumps(unparseable_update(update_id)).encode())
        assert response.status_code == 400
    assert hits(captured.getvalue()) == []


async def test_ptbs_own_webhook_handler_logging_the_payload_is_redacted(
    harness: BotHarness, captured
) -> None:
    """Whoever serves the webhook, the filter catches what PTB logs at CRITICAL."""
    app = harness.app
    server = HTTPServer(WebhookAppClass("/hook", app.bot, app.update_queue, "ptb-secret-0123456"))
    sockets = bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets(sockets)
    try:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hook",
                content=json.dumps(unparseable_update()).encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": "ptb-secret-0123456",
                },
            )
    finally:
        server.stop()
        await server.close_all_connections()
    assert response.status_code == 400
    log_text = captured.getvalue()
    assert "CRITICAL telegram.ext.Updater" in log_text
    assert "Received data was: <redacted>" in log_text
    assert hits(log_text) == []


def test_any_logger_at_any_level_is_redacted(captured) -> None:
    payload = unparseable_update()
    logging.getLogger("some.library").critical("could not handle %r", payload)
    logging.getLogger("peerline.anything").debug("sending to chat %s", USER.id)
    logging.getLogger("httpx").warning(
        "POST https://api.telegram.org/bot%s/sendMessage", TEST_TOKEN
    )
    logging.getLogger("tornado.general").error("bad path /tg-0123456789abcdef0123456789abcdef")
    try:
        raise ValueError(f"user {USER.username} ({USER.id}) wrote {TEXT!r}: {payload}")
    except ValueError:
        logging.getLogger("asyncio").exception("task failed")
    log_text = captured.getvalue()
    assert hits(log_text) == []
    assert "0123456789abcdef" not in log_text
    assert "Traceback" in log_text and "ValueError" in log_text  # still debuggable


def test_plain_operational_lines_are_kept(captured) -> None:
    logging.getLogger("peerline").info("retention purge: 12 messages, 3 outbox rows")
    logging.getLogger("peerline").warning("maintenance job %s failed (%d in a row)", "rota", 2)
    assert "retention purge: 12 messages, 3 outbox rows" in captured.getvalue()
    assert "maintenance job rota failed (2 in a row)" in captured.getvalue()


def test_configure_logging_puts_the_filter_on_every_root_handler() -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    buffer = io.StringIO()
    try:
        logs.configure_logging("INFO", stream=buffer)
        assert root.handlers and all(
            any(isinstance(f, logs.Redactor) for f in h.filters) for h in root.handlers
        )
        logging.getLogger("telegram.ext.Updater").critical(
            "Received data was: %r", {"a": USER.as_dict()}
        )
        assert hits(buffer.getvalue()) == []
    finally:
        root.handlers = saved
