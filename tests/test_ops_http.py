"""/healthz and /metrics on the optional operations port."""

from __future__ import annotations

import socket

import httpx
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot import ops_http
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard


async def get(harness: BotHarness, path: str) -> httpx.Response:
    server = HTTPServer(ops_http.make_app(harness.app.bot_data.runtime))
    sockets = bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets(sockets)
    try:
        async with httpx.AsyncClient() as client:
            return await client.get(f"http://127.0.0.1:{sockets[0].getsockname()[1]}{path}")
    finally:
        server.stop()
        await server.close_all_connections()


async def test_the_operations_port_is_off_by_default(harness: BotHarness) -> None:
    runtime = harness.app.bot_data.runtime
    assert runtime.settings.metrics_port is None
    assert ops_http.start(runtime) is None


async def test_healthz_says_ok_while_the_database_answers(harness: BotHarness) -> None:
    response = await get(harness, "/healthz")
    assert response.status_code == 200 and response.text == "ok\n"


async def test_metrics_count_updates_errors_and_the_outbox(
    harness: BotHarness, monkeypatch
) -> None:
    user = FakeUser(language_code="en")
    await onboard(harness, user, "en")
    updates = harness.app.bot_data.runtime.metrics.updates_total
    from bot.services import content as content_module

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr(content_module.Content, "screen", broken)
    await harness.send(user, "/menu")
    response = await get(harness, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = response.text.splitlines()
    assert f"peerline_updates_total {updates + 1}" in lines
    assert "peerline_handler_errors_total 1" in lines
    assert 'peerline_outbox_messages{status="pending"} 0' in lines
    assert 'peerline_outbox_messages{status="dead"} 0' in lines
    assert str(user.id) not in response.text
