"""docker-compose.yml is what the README's one-command set-ups run: it must stay valid and say
what the bot reads (a renamed setting would otherwise be ignored without a word)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_every_setting_the_compose_file_sets_is_one_the_bot_reads() -> None:
    fields = {f"PEERLINE_{name.upper()}" for name in Settings.model_fields}
    bot = compose()["services"]["bot"]
    names = [name for name in bot["environment"] if name.startswith("PEERLINE_")]
    assert names and set(names) <= fields, set(names) - fields


def test_the_bots_wait_for_a_healthy_database_and_share_one_secret_key() -> None:
    services = compose()["services"]
    assert "healthcheck" in services["db"]
    bot = services["bot"]
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["environment"]["PEERLINE_DATABASE_URL"].startswith("postgresql+asyncpg://")
    # Several processes must share one key: compose refuses to start without it.
    assert ":?" in bot["environment"]["PEERLINE_SECRET_KEY"]


def test_the_scale_profile_puts_caddy_with_the_tested_caddyfile_in_front() -> None:
    proxy = compose()["services"]["proxy"]
    assert proxy["profiles"] == ["scale"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert all(
        ":?" in proxy["environment"][name]
        for name in ("PEERLINE_DOMAIN", "PEERLINE_WEBHOOK_SECRET")
    )
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "name bot" in caddyfile and "port 8443" in caddyfile  # the compose service and port
    assert compose()["services"]["bot"]["environment"]["PEERLINE_WEBHOOK_PORT"] == "8443"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_accepts_the_file_with_the_scale_profile(tmp_path: Path) -> None:
    """`docker-compose config` resolves the file as `--profile scale up` would (no daemon
    needed); .ci/run installs Debian's docker-compose for this."""
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text(
        "PEERLINE_BOT_TOKEN=123456:test\nPEERLINE_SECRET_KEY=k\nPOSTGRES_PASSWORD=p\n"
        "PEERLINE_DOMAIN=bot.example.org\nPEERLINE_WEBHOOK_URL=https://bot.example.org/telegram\n"
        "PEERLINE_WEBHOOK_SECRET=s\n"
    )
    run = subprocess.run(
        ["docker-compose", "--profile", "scale", "config", "--services"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert set(run.stdout.split()) == {"db", "bot", "proxy"}
    (tmp_path / ".env").write_text("PEERLINE_BOT_TOKEN=123456:test\n")  # no password, no key
    refused = subprocess.run(
        ["docker-compose", "config"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr
