"""/healthz and /metrics on the optional operations port."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import insert, select, update
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot import ops_http
from bot.metrics import Metrics, QueueStats
from bot.models import Conversation
from bot.services.queue_stats import summarise
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost


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


def sample(text: str, name: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(line.rsplit(" ", 1)[1])


async def test_metrics_show_the_queue_by_urgency_and_how_long_takes_waited(
    harness: BotHarness, session_factory
) -> None:
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    for n, urgent in enumerate((False, True, False)):
        client = FakeUser(id=5550007000 + n, language_code="en")
        await ask_about_ost(harness, client, urgent=urgent)
    # Made a while ago: the calm one 10 minutes, the urgent one 5 (taken below), the last 2.
    now = datetime.now(UTC)
    async with session_factory() as session, session.begin():
        ids = list(await session.scalars(select(Conversation.id).order_by(Conversation.id)))
        for conversation_id, minutes in zip(ids, (10, 5, 2), strict=True):
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(created_at=now - timedelta(minutes=minutes))
            )
        # A take two days ago is outside the summary's one-day window.
        client_id = await session.scalar(select(Conversation.client_id).limit(1))
        await session.execute(
            insert(Conversation).values(
                client_id=client_id,
                status="closed",
                topic="ost",
                language="en",
                country="UA",
                created_at=now - timedelta(days=3),
                taken_at=now - timedelta(days=2),
            )
        )
    await harness.send(CONSULTANT, "/take")  # urgent first
    text = (await get(harness, "/metrics")).text
    assert "# TYPE peerline_queue_waiting gauge" in text
    assert sample(text, 'peerline_queue_waiting{urgent="true"}') == 0
    assert sample(text, 'peerline_queue_waiting{urgent="false"}') == 2
    assert sample(text, 'peerline_queue_oldest_wait_seconds{urgent="true"}') == 0
    assert 600 <= sample(text, 'peerline_queue_oldest_wait_seconds{urgent="false"}') < 660
    assert "# TYPE peerline_queue_wait_to_take_seconds summary" in text
    assert sample(text, "peerline_queue_wait_to_take_seconds_count") == 1
    assert 300 <= sample(text, 'peerline_queue_wait_to_take_seconds{quantile="0.5"}') < 360
    assert 300 <= sample(text, "peerline_queue_wait_to_take_seconds_sum") < 360


def test_the_wait_summary_uses_nearest_ranks_and_is_empty_without_takes() -> None:
    summary = summarise([float(n) for n in range(100, 0, -1)])
    assert summary.quantiles == {0.5: 50.0, 0.9: 90.0, 0.99: 99.0}
    assert (summary.total, summary.count) == (5050.0, 100)
    empty = summarise([])
    assert empty.quantiles == {0.5: 0.0, 0.9: 0.0, 0.99: 0.0} and empty.count == 0
    rendered = (
        Metrics()
        .render(
            queue=QueueStats(
                waiting={False: 3, True: 1},
                oldest_wait_seconds={False: 12.5, True: 4.0},
                wait_to_take=summary,
                window_seconds=86400,
            )
        )
        .splitlines()
    )
    assert 'peerline_queue_waiting{urgent="false"} 3' in rendered
    assert 'peerline_queue_oldest_wait_seconds{urgent="false"} 12.5' in rendered
    assert 'peerline_queue_wait_to_take_seconds{quantile="0.99"} 99' in rendered
    assert "peerline_queue_wait_to_take_seconds_count 100" in rendered
