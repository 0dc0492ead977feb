"""Fixtures for end-to-end tests: the Telegram emulator and real bot processes.

    async def test_something(start_bot):
        bot = await start_bot()                       # `python -m bot run`, polling
        alice = bot.user(first_name="Alice", language_code="ru")
        await alice.send_command("start")
        menu = await alice.wait_for_message("Peerline")
        await alice.press("About", on=menu)
        about = await alice.wait_for_edit(menu)

Each started bot gets a fresh token, so each has its own empty Telegram in the shared emulator.
When a test fails, the bots' log tails and the emulator's are attached to the report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import driver

BotFactory = Callable[..., Awaitable[driver.BotProcess]]


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[driver.Emulator]:
    """One emulator for the session; skips (with the reason) if Node or node_modules is missing."""
    reason = driver.emulator_unavailable_reason()
    if reason:
        pytest.skip(reason)
    emu = driver.Emulator.start(tmp_path_factory.mktemp("tg-emulator") / "emulator.log")
    yield emu
    emu.stop()


@pytest.fixture
def start_bot(
    emulator: driver.Emulator, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[BotFactory]:
    """`await start_bot(mode="polling"|"webhook", cmd=..., extra_env=..., token=...)` starts a
    bot process and returns once it polls / has set its webhook. Stopped after the test."""
    started: list[driver.BotProcess] = []
    request.node._e2e_bots = started  # read by pytest_runtest_makereport below

    async def factory(
        *,
        mode: str = "polling",
        cmd: Sequence[str] = driver.DEFAULT_BOT_CMD,
        extra_env: dict[str, str] | None = None,
        token: str | None = None,
        name: str = "bot",
        ready_timeout: float = driver.MAX_WAIT,
        **kwargs: Any,
    ) -> driver.BotProcess:
        n = len(started)
        bot = await driver.start_bot(
            emulator,
            mode=mode,
            cmd=cmd,
            extra_env=extra_env,
            token=token,
            data_dir=tmp_path / f"{name}{n}-data",
            log_path=tmp_path / f"{name}{n}.log",
            ready_timeout=ready_timeout,
            **kwargs,
        )
        started.append(bot)
        return bot

    yield factory
    for bot in started:
        bot.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On failure, attach the logs a person would open first."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when != "call" or not report.failed:
        return
    for i, bot in enumerate(getattr(item, "_e2e_bots", [])):
        state = "running" if bot.is_running() else f"exited {bot.returncode}"
        report.sections.append(
            (f"bot {i} ({bot.mode}, {state}) log tail: {bot.log_path}", bot.log_tail(80))
        )
    emu = item.funcargs.get("emulator") if hasattr(item, "funcargs") else None
    if isinstance(emu, driver.Emulator):
        report.sections.append((f"emulator log tail: {emu.log_path}", emu.log_tail(60)))
