"""`peerline backup` and `peerline restore`: encrypted, checked, refused while the bot runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot import instance_lock
from bot.cli import main

SECRET = "backup-test-secret-key-0123456789abcdef"
CANARY = "Ксенофонтия-канарейка"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    monkeypatch.setenv("PEERLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERLINE_SECRET_KEY", SECRET)
    assert main(["migrate"]) == 0
    return tmp_path


def database(env: Path) -> Path:
    return env / "data" / "peerline.db"


def set_marker(env: Path, value: str) -> None:
    """Something recognisable in the database (a canned answer's text, stored as is)."""
    with sqlite3.connect(database(env)) as db:
        db.execute("DELETE FROM canned_answers")
        db.execute(
            "INSERT INTO canned_answers (language, title, body) VALUES ('en', 'marker', ?)",
            (value,),
        )


def marker(env: Path) -> str:
    with sqlite3.connect(database(env)) as db:
        return str(db.execute("SELECT body FROM canned_answers").fetchone()[0])


def test_backup_then_restore_brings_the_database_back(env: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    set_marker(env, CANARY)
    target = env / "backups" / "peerline.bak"
    assert main(["backup", str(target)]) == 0
    assert "same PEERLINE_SECRET_KEY" in capsys.readouterr().out
    # Encrypted at rest: neither the text nor SQLite's header is readable in the file.
    blob = target.read_bytes()
    assert CANARY.encode() not in blob and b"SQLite format 3" not in blob
    assert target.stat().st_mode & 0o077 == 0

    set_marker(env, "changed after the backup")
    assert main(["restore", str(target)]) == 0
    assert marker(env) == CANARY
    assert not database(env).with_name("peerline.db.restoring").exists()


def test_a_backup_cannot_be_restored_with_another_key(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    set_marker(env, CANARY)
    target = env / "peerline.bak"
    assert main(["backup", str(target)]) == 0
    set_marker(env, "kept")
    monkeypatch.setenv("PEERLINE_SECRET_KEY", "another-secret-key-0123456789abcdefgh")
    assert main(["restore", str(target)]) == 1
    assert "not the key it was made with" in capsys.readouterr().err
    assert marker(env) == "kept"  # untouched


def test_a_damaged_backup_is_refused(env: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target = env / "peerline.bak"
    assert main(["backup", str(target)]) == 0
    blob = bytearray(target.read_bytes())
    blob[-5] ^= 0x01
    target.write_bytes(bytes(blob))
    assert main(["restore", str(target)]) == 1
    assert "damaged" in capsys.readouterr().err


def test_restore_refuses_while_the_bot_runs(env: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    set_marker(env, CANARY)
    target = env / "peerline.bak"
    assert main(["backup", str(target)]) == 0
    set_marker(env, "live data")
    running = instance_lock.acquire(f"sqlite+aiosqlite:///{database(env)}")
    try:
        assert main(["restore", str(target)]) == 2
    finally:
        assert running is not None
        running.release()
    assert "stop it first" in capsys.readouterr().err
    assert marker(env) == "live data"


def test_a_backup_can_be_taken_while_the_database_is_written(env: Path) -> None:
    set_marker(env, CANARY)
    writer = sqlite3.connect(database(env))
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("BEGIN IMMEDIATE")  # the bot holds the write lock mid-transaction
    writer.execute("UPDATE canned_answers SET body = 'not yet committed'")
    try:
        assert main(["backup", str(env / "live.bak")]) == 0
    finally:
        writer.rollback()
        writer.close()
    set_marker(env, "later")
    assert main(["restore", str(env / "live.bak")]) == 0
    assert marker(env) == CANARY  # the committed state, not the transaction in progress


def test_postgresql_is_pointed_to_pg_dump(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PEERLINE_DATABASE_URL", "postgresql+asyncpg://peerline@db/peerline")
    assert main(["backup", str(env / "x.bak")]) == 1
    assert "pg_dump" in capsys.readouterr().err
