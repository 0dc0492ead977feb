"""A second bot process on one SQLite data dir refuses to start instead of answering twice."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot import instance_lock
from bot.cli import main
from tests.conftest import TEST_TOKEN


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    monkeypatch.setenv("PEERLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERLINE_SECRET_KEY", "cli-test-secret-key-0123456789abcdef")
    monkeypatch.setenv("PEERLINE_BOT_TOKEN", TEST_TOKEN)
    monkeypatch.delenv("PEERLINE_DATABASE_URL", raising=False)
    return tmp_path


def test_second_run_on_one_sqlite_data_dir_refuses_with_a_clear_message(env: Path, capsys) -> None:
    url = f"sqlite+aiosqlite:///{env / 'data' / 'peerline.db'}"
    first = instance_lock.acquire(url)  # the bot that is already running
    assert first is not None
    try:
        assert main(["run"]) == 2
    finally:
        first.release()
    err = capsys.readouterr().err.strip()
    assert err.startswith("peerline: another peerline process")
    assert "already running" in err and "PostgreSQL" in err
    assert "Traceback" not in err
    assert not (env / "data" / "peerline.db").exists(), "refused before touching the database"


def test_the_lock_is_held_across_processes_and_freed_when_the_holder_dies(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'peerline.db'}"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from bot import instance_lock; "
            f"instance_lock.acquire({url!r}); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(instance_lock.AlreadyRunning, match=f"pid {holder.pid}"):
            instance_lock.acquire(url)
    finally:
        holder.kill()  # SIGKILL: no clean-up code runs, the kernel drops the lock
        holder.wait()
    lock = instance_lock.acquire(url)
    assert lock is not None
    lock.release()


def test_postgresql_takes_no_lock() -> None:
    assert instance_lock.acquire("postgresql+asyncpg://u@localhost/peerline") is None


def test_a_busy_webhook_port_is_one_clear_line(env: Path, monkeypatch, capsys) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("PEERLINE_WEBHOOK_URL", "https://bot.example.org/hook")
        monkeypatch.setenv("PEERLINE_WEBHOOK_PORT", str(busy.getsockname()[1]))
        assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("peerline: cannot listen on 127.0.0.1:") and "port is in use" in err
    assert "Traceback" not in err
    # The lock went with the process's attempt: a next start is not refused.
    lock = instance_lock.acquire(f"sqlite+aiosqlite:///{env / 'data' / 'peerline.db'}")
    assert lock is not None
    lock.release()
