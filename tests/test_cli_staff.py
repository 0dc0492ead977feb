"""`peerline consultants ...` as an organisation's admin would run it."""

from __future__ import annotations

import asyncio
import re
import shutil

import pytest

from bot.cli import main
from bot.cli_staff import invite_message
from bot.config import Settings
from bot.crypto import Keys
from bot.db import make_engine, make_session_factory
from bot.services import staff, staff_accounts

SECRET = "cli-test-secret-key-0123456789abcdef"
ANNA_ID = "7399001122"


@pytest.fixture
def fresh_env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """An empty data directory: the first command creates and migrates the database."""
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    monkeypatch.setenv("PEERLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERLINE_SECRET_KEY", SECRET)
    monkeypatch.delenv("PEERLINE_BOT_USERNAME", raising=False)
    monkeypatch.delenv("PEERLINE_DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def env(fresh_env, _sqlite_template):  # type: ignore[no-untyped-def]
    """As after the bot's first start: the database is there at the latest revision, so a
    command checks the revision instead of running every migration (~0.4 s a test)."""
    data = fresh_env / "data"
    data.mkdir()
    shutil.copyfile(_sqlite_template, data / "peerline.db")
    return fresh_env


def run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(["consultants", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_lists_the_consultant_commands(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_info:
        main(["consultants", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("add", "list", "remove", "invite"):
        assert command in out


def test_add_list_remove(fresh_env, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(
        capsys, "add", ANNA_ID, "--name", "Anna K.", "--role", "peer", "--languages", "uk,ru"
    )
    assert code == 0
    assert "Anna K." in out and "peer" in out and "uk,ru" in out  # as given: uk is read first
    code, out, _ = run(
        capsys, "add", "7399001123", "--name", "Bob", "--role", "lawyer", "--topics", "legal"
    )
    assert code == 0

    code, out, _ = run(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "name", "role", "languages", "topics", "on", "duty", "active"]
    assert re.match(r"1\s+Anna K\.\s+peer\s+uk,ru\s+all\s+no\s+yes$", lines[1])
    assert re.match(r"2\s+Bob\s+lawyer\s+ru,uk,kk,en\s+legal\s+no\s+yes$", lines[2])
    assert ANNA_ID not in out and "7399001123" not in out

    code, out, _ = run(capsys, "remove", "1")
    assert code == 0 and "removed consultant 1 (Anna K.)" in out
    code, out, _ = run(capsys, "list")
    assert "Anna" not in out and "Bob" in out
    code, out, _ = run(capsys, "list", "--all")
    assert "Anna K." in out and "removed" in out


def test_adding_again_updates_instead_of_duplicating(env, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(capsys, "add", ANNA_ID, "--name", "Anna", "--role", "peer")[0] == 0
    assert run(capsys, "remove", "1")[0] == 0
    code, out, _ = run(capsys, "add", ANNA_ID, "--name", "Anna", "--role", "supervisor")
    assert code == 0 and out.startswith("saved consultant 1:")
    _, out, _ = run(capsys, "list")
    assert len(out.splitlines()) == 2 and "supervisor" in out


def test_an_empty_list_says_how_to_add(env, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "list")
    assert code == 0 and "consultants add" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "@anna", "--name", "Anna", "--role", "peer"], "numeric Telegram id"),
        (["add", ANNA_ID, "--name", "Anna", "--role", "boss"], "unknown role 'boss'"),
        (["add", ANNA_ID, "--name", "Peerline Bot", "--role", "peer"], "may not contain"),
        (["add", ANNA_ID, "--name", "<b>A</b>", "--role", "peer"], "may not contain '<'"),
        (["add", ANNA_ID, "--name", "Anna", "--role", "peer", "--languages", "de"], "de"),
        (["add", ANNA_ID, "--name", "Anna", "--role", "peer", "--topics", "x"], "unknown topics"),
        (["remove", "7"], "no active consultant with id 7"),
        (["remove", "anna"], "id column"),
        (["invite", "--role", "boss"], "unknown role"),
        (["invite", "--role", "peer", "--hours", "1000"], "1 to 168 hours"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_code_1(env, capsys, argv, message) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert err.startswith("peerline: ") and message in err
    assert err.count("\n") == 1
    assert run(capsys, "list")[1].startswith("no consultants yet")


def test_invite_prints_a_start_command_that_works_once(env, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "invite", "--role", "medic", "--hours", "2")
    assert code == 0
    token = re.search(r"/start (inv_[A-Za-z0-9_-]+)", out).group(1)
    assert "2 hours" in out and "once" in out

    async def redeem(telegram_id: int) -> staff.StaffView:
        settings = Settings(_env_file=None)
        engine = make_engine(settings.effective_database_url)
        try:
            async with make_session_factory(engine)() as session, session.begin():
                return await staff_accounts.redeem_invite(
                    session, Keys(SECRET), token=token, telegram_id=telegram_id, display_name="A"
                )
        finally:
            await engine.dispose()

    assert asyncio.run(redeem(int(ANNA_ID))).role == "medic"
    _, out, _ = run(capsys, "list")
    assert "medic" in out
    with pytest.raises(staff.StaffError, match="already been used"):
        asyncio.run(redeem(int(ANNA_ID) + 1))


def test_invite_message_is_a_deep_link_when_the_bot_username_is_known() -> None:
    text = invite_message("inv_abc", 48, "@peerline_test_bot")
    assert "https://t.me/peerline_test_bot?start=inv_abc" in text
    assert "/start inv_abc" in invite_message("inv_abc", 48, None)


@pytest.mark.skipif(
    "bot_username" not in Settings.model_fields, reason="PEERLINE_BOT_USERNAME not a setting yet"
)
def test_invite_uses_peerline_bot_username(env, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PEERLINE_BOT_USERNAME", "peerline_test_bot")
    code, out, _ = run(capsys, "invite", "--role", "peer")
    assert code == 0 and "https://t.me/peerline_test_bot?start=inv_" in out
