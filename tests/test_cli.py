"""`peerline` commands as an organisation's admin would run them."""

from __future__ import annotations

import pytest

from bot.cli import main


@pytest.fixture
def env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    monkeypatch.setenv("PEERLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERLINE_SECRET_KEY", "cli-test-secret-key-0123456789abcdef")
    return tmp_path


def test_help_lists_the_commands(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "migrate", "directory"):
        assert command in out


def test_migrate_creates_a_database_only_its_owner_can_read(env) -> None:
    assert main(["migrate"]) == 0
    database = env / "data" / "peerline.db"
    assert database.exists()
    assert database.stat().st_mode & 0o077 == 0
    assert (env / "data").stat().st_mode & 0o077 == 0


def test_directory_import_then_export_round_trips(env, capsys) -> None:
    source = env / "services.csv"
    source.write_text(
        "type,country,city,name,phone,verified\n"
        "hotline,UA,,Test hotline,0 800 000 000,yes\n"
        "testing,KZ,almaty,Test point,,no\n",
        encoding="utf-8",
    )
    assert main(["directory", "import", str(source)]) == 0
    assert "imported" in capsys.readouterr().out
    out = env / "out.yaml"
    assert main(["directory", "export", str(out)]) == 0
    exported = out.read_text(encoding="utf-8")
    assert "Test hotline" in exported and "almaty" in exported


def test_bad_row_is_reported_with_line_and_field_and_nothing_imported(env, capsys) -> None:
    source = env / "bad.csv"
    source.write_text(
        "type,country,city,name\nhotline,UA,,Good row\nspaceship,UA,,Bad row\n", encoding="utf-8"
    )
    assert main(["directory", "import", str(source)]) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "type" in err
    out = env / "out.csv"
    assert main(["directory", "export", str(out)]) == 0
    assert "Good row" not in out.read_text(encoding="utf-8")


def test_malformed_setting_is_one_line_naming_the_variable(env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PEERLINE_RETENTION_DAYS", "forever")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("peerline: PEERLINE_RETENTION_DAYS:")
    assert "\n" not in err


def test_malformed_token_message_is_plain(env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PEERLINE_BOT_TOKEN", "123456:your-token")
    assert main(["run"]) == 2
    assert capsys.readouterr().err.strip() == (
        "peerline: PEERLINE_BOT_TOKEN: does not look like a bot token from @BotFather "
        "(digits:letters)"
    )


def test_directory_file_of_unknown_kind_is_refused(env, capsys) -> None:
    assert main(["directory", "export", str(env / "services.xlsx")]) == 2
    assert ".csv, .yaml or .yml" in capsys.readouterr().err
