"""The webhook server (bot/webhook.py): secret before body, a size limit, 400 for bad bodies."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot import webhook
from tests.harness import BotHarness, FakeUser

SECRET = "webhook-test-secret-0123456789"
PATH = "hook/tg-0123456789abcdef0123456789abcdef"
MAX_BODY = 64 * 1024


@dataclass
class Endpoint:
    url: str
    port: int
    harness: BotHarness
    server: HTTPServer

    async def post(
        self, body: bytes, *, secret: str | None = SECRET, content_type: str = "application/json"
    ) -> httpx.Response:
        headers = {"Content-Type": content_type}
        if secret is not None:
            headers[webhook.SECRET_HEADER] = secret
        async with httpx.AsyncClient() as client:
            return await client.post(self.url, content=body, headers=headers)

    async def raw(self, request: bytes) -> bytes:
        """Send raw bytes (e.g. headers only) and read what comes back before the body."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(request)
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(4096), timeout=5)
        finally:
            writer.close()


@pytest.fixture
async def endpoint(harness: BotHarness) -> AsyncIterator[Endpoint]:
    app = harness.app
    server = webhook.make_server(
        webhook.make_app(
            app,
            path=PATH,
            secret=SECRET,
            max_body=MAX_BODY,
            metrics=app.bot_data.runtime.metrics,
        ),
        max_body=MAX_BODY,
    )
    sockets = bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    yield Endpoint(f"http://127.0.0.1:{port}/{PATH}", port, harness, server)
    server.stop()
    await server.close_all_connections()


def text_update(user: FakeUser, text: str, update_id: int = 1) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": user.chat(),
            "from": user.as_dict(),
            "text": text,
        },
    }


async def test_a_valid_update_is_handled_before_it_is_answered(endpoint: Endpoint) -> None:
    # Answering 200 first would make Telegram forget an update a crash then loses.
    user = FakeUser(language_code="en")
    response = await endpoint.post(json.dumps(text_update(user, "/start")).encode())
    assert response.status_code == 200
    assert any(name == "sendMessage" for name, _ in endpoint.harness.telegram.calls)
    assert endpoint.harness.app.update_queue.qsize() == 0


@pytest.mark.parametrize("secret", [None, "wrong-secret-0123456789", SECRET + "x"])
async def test_a_wrong_or_missing_secret_is_refused(endpoint: Endpoint, secret) -> None:
    body = json.dumps(text_update(FakeUser(), "/start")).encode()
    response = await endpoint.post(body, secret=secret)
    assert response.status_code == 403
    assert endpoint.harness.app.update_queue.qsize() == 0


async def test_a_call_refused_before_its_body_is_read_says_the_connection_closes(
    endpoint: Endpoint,
) -> None:
    """The server closes a connection whose body it did not read; a client that reused it for
    its next call would find it closed under it (seen as a ReadError in an end-to-end run)."""
    body = json.dumps(text_update(FakeUser(), "/start")).encode()
    refused = await endpoint.post(body, secret="wrong-secret-0123456789")
    assert refused.status_code == 403 and refused.headers.get("Connection") == "close"
    accepted = await endpoint.post(body)
    assert accepted.status_code == 200 and accepted.headers.get("Connection") != "close"


@pytest.mark.parametrize(
    "body",
    [
        b"this is not json",
        b'{"update_id": 1, "message": {"message_id": 1, "da',  # truncated
        b'{"update_id": 1, "text": "\xff\xfe\xfa"}',  # invalid UTF-8
        b"",
        b"[1, 2, 3]",
        b"null",
        b"[" * 60_000,  # nesting deep enough to break a recursive parser
        # JSON, but not an update python-telegram-bot can read (an entity without offset)
        json.dumps(
            {
                "update_id": 9,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 1, "type": "private"},
                    "text": "x",
                    "entities": [{"type": "bold"}],
                },
            }
        ).encode(),
    ],
    ids=["not-json", "truncated", "invalid-utf8", "empty", "array", "null", "deep", "unreadable"],
)
async def test_a_bad_body_with_the_right_secret_is_400_not_500(endpoint: Endpoint, body) -> None:
    response = await endpoint.post(body)
    assert response.status_code == 400
    assert endpoint.harness.app.update_queue.qsize() == 0


async def test_a_body_that_is_not_declared_json_is_refused(endpoint: Endpoint) -> None:
    response = await endpoint.post(b"{}", content_type="text/plain")
    assert response.status_code == 415


async def test_the_secret_is_checked_before_the_body_is_read(endpoint: Endpoint) -> None:
    # Headers announcing 90 MiB, and no body at all: the answer must come anyway.
    head = (
        f"POST /{PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: wrong-secret-0123456789\r\n"
        f"Content-Length: {90 * 1024 * 1024}\r\n\r\n"
    ).encode()
    answer = await endpoint.raw(head)
    assert answer.startswith(b"HTTP/1.1 403")


async def test_an_oversized_body_is_refused_from_its_headers(endpoint: Endpoint) -> None:
    head = (
        f"POST /{PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n"
        f"Content-Length: {MAX_BODY + 1}\r\n\r\n"
    ).encode()
    answer = await endpoint.raw(head)
    assert answer.startswith(b"HTTP/1.1 413")


async def test_an_oversized_chunked_body_is_not_kept(endpoint: Endpoint) -> None:
    chunk = b"x" * 16 * 1024
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)) + b"0\r\n\r\n"
    request = (
        f"POST /{PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode() + chunks
    answer = await endpoint.raw(request)
    assert answer.split(b"\r\n")[0] in (
        b"HTTP/1.1 413 Request Entity Too Large",
        b"HTTP/1.1 400 Bad Request",
    )
    assert endpoint.harness.app.update_queue.qsize() == 0


async def test_refusals_are_counted_for_metrics(endpoint: Endpoint) -> None:
    await endpoint.post(b"{}", secret="wrong-secret-0123456789")
    await endpoint.post(b"not json")
    text = endpoint.harness.app.bot_data.runtime.metrics.render()
    assert 'peerline_webhook_rejected_total{status="403"} 1' in text
    assert 'peerline_webhook_rejected_total{status="400"} 1' in text
