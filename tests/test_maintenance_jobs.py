"""Periodic jobs run each under its own guard: one failing job does not stop the others."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from bot import maintenance
from bot.runtime import Runtime
from bot.services import privacy
from tests.harness import BotHarness, FakeUser
from tests.test_consultation import add_consultant

SUPERVISOR = FakeUser(id=5550090001, language_code="en", first_name="Sveta")


@pytest.fixture
def broken_rota(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(runtime: Runtime, since: datetime) -> datetime:
        raise RuntimeError("a /rota slot that cannot be read")

    monkeypatch.setattr(maintenance, "apply_rota", broken)


@pytest.fixture
def purges(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = privacy.run_retention

    async def counted(runtime: Runtime) -> privacy.PurgeReport:
        calls.append(1)
        return await real(runtime)

    monkeypatch.setattr(privacy, "run_retention", counted)
    return calls


async def test_a_failing_job_does_not_stop_the_retention_purge(
    harness: BotHarness, broken_rota: None, purges: list[int]
) -> None:
    runtime = harness.app.bot_data.runtime
    jobs = maintenance.default_jobs(runtime, 60.0)
    await maintenance.run_due(runtime, jobs, interval=60.0, now=1000.0)
    assert purges == [1]
    states = runtime.metrics.jobs
    assert states["rota"].consecutive_failures == 1 and states["rota"].last_success is None
    for name in ("publish", "reminders", "follow_ups", "wait_alerts", "retention"):
        assert states[name].last_success is not None, name
        assert states[name].consecutive_failures == 0, name


async def test_the_running_loop_keeps_purging_while_a_job_fails(
    harness: BotHarness, broken_rota: None, purges: list[int]
) -> None:
    runtime = harness.app.bot_data.runtime
    task = asyncio.create_task(maintenance.loop(runtime, interval=0.01))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if purges and runtime.metrics.jobs["rota"].failures_total >= 2:
            break
    await maintenance.stop(task)
    assert purges, "the retention purge must run although /rota keeps failing"
    assert runtime.metrics.jobs["follow_ups"].last_success is not None


async def test_a_failing_job_backs_off_and_recovers(harness: BotHarness, monkeypatch) -> None:
    runtime = harness.app.bot_data.runtime
    runs: list[str] = []

    async def flaky(runtime: Runtime) -> None:
        runs.append("run")
        if len(runs) < 3:
            raise RuntimeError("flaky")

    job = maintenance.Job("flaky", flaky, 60.0)
    state = runtime.metrics.job("flaky")
    await maintenance.run_due(runtime, [job], interval=60.0, now=0.0)  # fails: next at 60
    await maintenance.run_due(runtime, [job], interval=60.0, now=30.0)  # backing off
    assert len(runs) == 1
    await maintenance.run_due(runtime, [job], interval=60.0, now=60.0)  # fails: next at 180
    await maintenance.run_due(runtime, [job], interval=60.0, now=170.0)
    assert len(runs) == 2 and state.consecutive_failures == 2
    await maintenance.run_due(runtime, [job], interval=60.0, now=180.0)  # succeeds
    assert len(runs) == 3 and state.consecutive_failures == 0 and state.last_success
    assert state.next_run == 240.0


async def test_supervisors_are_alerted_once_when_a_job_keeps_failing(
    harness: BotHarness, broken_rota: None
) -> None:
    await add_consultant(harness, SUPERVISOR, display_name="Sveta", role="supervisor")
    runtime = harness.app.bot_data.runtime
    jobs = [job for job in maintenance.default_jobs(runtime, 60.0) if job.name == "rota"]
    for round_ in range(5):
        await maintenance.run_due(runtime, jobs, interval=60.0, now=10_000.0 * (round_ + 1))
        await harness.deliver()
    alerts = [
        params
        for name, params in harness.telegram.calls
        if name == "sendMessage" and "keeps failing" in params["text"]
    ]
    assert len(alerts) == 1
    assert "“rota”" in alerts[0]["text"] and "RuntimeError" in alerts[0]["text"]
    # The exception's message may carry a person's data: it stays in the log only.
    assert "cannot be read" not in alerts[0]["text"]
    assert runtime.metrics.jobs["rota"].failures_total == 5


async def test_job_state_appears_in_the_metrics_text(harness: BotHarness, broken_rota) -> None:
    runtime = harness.app.bot_data.runtime
    await maintenance.run_due(
        runtime, maintenance.default_jobs(runtime, 60.0), interval=60.0, now=0.0
    )
    text = runtime.metrics.render()
    assert 'peerline_job_consecutive_failures{job="rota"} 1' in text
    assert 'peerline_job_last_success_timestamp_seconds{job="rota"} 0' in text
    line = next(
        line
        for line in text.splitlines()
        if line.startswith('peerline_job_last_success_timestamp_seconds{job="retention"}')
    )
    assert float(line.split()[-1]) > 1.7e9
