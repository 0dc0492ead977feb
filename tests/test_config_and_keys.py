"""Settings fail loudly and clearly; keys, pseudonyms and button data behave."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.callbacks import ChooseLanguage, OpenMenu, ServicesPage, encode, parse
from bot.config import ConfigError, Settings, load_settings
from bot.crypto import Keys


def test_short_secret_key_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("PEERLINE_SECRET_KEY", "too-short")
    with pytest.raises(ConfigError, match="PEERLINE_SECRET_KEY"):
        load_settings(_env_file=None)


def test_malformed_token_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("PEERLINE_BOT_TOKEN", "not a token")
    with pytest.raises(ConfigError, match="PEERLINE_BOT_TOKEN"):
        load_settings(_env_file=None)


def test_admin_ids_are_read_comma_separated(monkeypatch) -> None:
    monkeypatch.setenv("PEERLINE_ADMIN_IDS", "12345, 67890")
    assert load_settings(_env_file=None).admin_ids == [12345, 67890]


def test_run_without_token_stops_with_one_clear_line(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PEERLINE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "peerline: PEERLINE_BOT_TOKEN is not set: get a token from @BotFather"
    )


def test_missing_secret_key_is_generated_once_into_the_data_dir(tmp_path, caplog) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    first = settings.resolve_secret_key()
    assert len(first) >= 32
    assert "PEERLINE_SECRET_KEY is not set" in caplog.text
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert Settings(_env_file=None, data_dir=tmp_path).resolve_secret_key() == first


def test_client_key_is_stable_per_secret_and_hides_the_id() -> None:
    a, b = Keys("a" * 32), Keys("b" * 32)
    assert a.client_key(42) == a.client_key(42)
    assert a.client_key(42) != b.client_key(42)
    assert "42" not in a.client_key(42)[:2]


def test_staff_key_cannot_be_joined_with_the_client_key() -> None:
    keys = Keys("a" * 32)
    assert keys.staff_key(42) != keys.client_key(42)
    assert keys.staff_key(42) == keys.staff_key(42)


def test_chat_id_round_trips_and_cannot_be_read_with_another_key() -> None:
    keys = Keys("k" * 32)
    blob = keys.encrypt_chat_id(5550001234)
    assert b"5550001234" not in blob
    assert keys.decrypt_chat_id(blob) == 5550001234
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        Keys("x" * 32).decrypt_chat_id(blob)


def test_callback_data_is_validated() -> None:
    assert parse(encode(OpenMenu("ost"))) == OpenMenu(node="ost")
    assert parse(encode(ServicesPage("ost_services", 2))) == ServicesPage("ost_services", page=2)
    for forged in [
        "",
        "menu:ost",
        "1menu:OST",
        "1menu:ost:extra",
        "1nope:x",
        "2menu:ost",
        "1lang:de",
        "1svc:x:-1",
        "1menu:" + "a" * 60,
    ]:
        assert parse(forged) is None, forged
    with pytest.raises(ValueError):
        encode(ChooseLanguage("de"))  # type: ignore[arg-type]
