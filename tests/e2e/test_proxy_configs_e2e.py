"""The reverse-proxy configurations in deploy/ (README, "Scale out"), run for real in front of
two bot processes on one PostgreSQL database.

The two-process test next door uses a tiny round-robin written in Python; this one runs the
very files an organisation copies, nginx's `deploy/nginx.conf` and Caddy's `deploy/Caddyfile`,
changed only where a test must: plain HTTP on a loopback port instead of a certificate, and
the two bots' ports in place of DNS names. It checks what those files promise:
- a client and a consultant talk through the proxy;
- a call without the right secret header is refused by the proxy, and the bots never see it;
- a body over the limit is refused by the proxy;
- when one process stops, the other takes the updates: nothing is lost.

Skipped unless PEERLINE_TEST_POSTGRES_URL is set and the proxy's binary is installed (`.ci/run`
installs nginx-light and caddy from Debian's packages when it can).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e import driver
from tests.e2e.test_consultation_e2e import onboard_and_ask
from tests.e2e.test_two_processes_postgres_e2e import (
    POSTGRES_URL,
    BotFactory,
    cli,
    database,  # noqa: F401  (a fixture used by name)
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CONSULTANT = {"user_id": 8_600_001, "first_name": "Peer"}
CLIENT = {"user_id": 6_600_001, "first_name": "Client", "language_code": "en"}


def nginx_config(conf: str, *, port: int, bots: list[int], secret: str, tmp: Path) -> str:
    """deploy/nginx.conf as a whole nginx.conf on a loopback port without TLS."""
    conf = re.sub(r"\n\s*listen 443 ssl;", f"\n    listen {driver.LOOPBACK}:{port};", conf)
    conf = re.sub(r"\n\s*(http2 on|ssl_certificate\S*)[^;]*;", "", conf)
    conf = re.sub(r"server 127\.0\.0\.1:8443", f"server {driver.LOOPBACK}:{bots[0]}", conf)
    conf = re.sub(r"server 127\.0\.0\.1:8444", f"server {driver.LOOPBACK}:{bots[1]}", conf)
    assert conf.count('"CHANGE-ME"') == 1, "the secret placeholder moved: update this test"
    conf = conf.replace('"CHANGE-ME"', f'"{secret}"')
    conf = conf.replace("/var/log/nginx/peerline-error.log", str(tmp / "error.log"))
    temp = "\n".join(
        f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    # As root nginx would run its workers as "nobody", who cannot enter pytest's temp dirs.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}pid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
        "daemon off;\nevents {}\nhttp {\n"
        f"{temp}\n    uwsgi_temp_path {tmp / 'uwsgi'};\n    scgi_temp_path {tmp / 'scgi'};\n"
        f"{conf}\n}}\n"
    )


def caddy_config(conf: str, *, port: int, bots: list[int]) -> str:
    """deploy/Caddyfile on a loopback port without TLS, with static upstreams for the
    compose network's `dynamic a` lookup."""
    upstreams = " ".join(f"{driver.LOOPBACK}:{p}" for p in bots)
    conf, found = re.subn(r"dynamic a \{[^}]*\}", f"to {upstreams}", conf)
    assert found == 1, "the dynamic upstream block moved: update this test"
    assert "{$PEERLINE_DOMAIN} {" in conf
    conf = conf.replace("{$PEERLINE_DOMAIN} {", f"http://{driver.LOOPBACK}:{port} {{")
    assert "\n{\n" in conf, "the global options block moved: update this test"
    return conf.replace("\n{\n", "\n{\n\tadmin off\n\tauto_https off\n", 1)


@pytest.fixture(params=["nginx", "caddy"])
def proxy_kind(request: pytest.FixtureRequest) -> str:
    if not POSTGRES_URL:
        pytest.skip("needs PEERLINE_TEST_POSTGRES_URL")
    if shutil.which(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    return str(request.param)


def start_proxy(
    kind: str, *, port: int, bots: list[int], secret: str, tmp: Path
) -> Iterator[subprocess.Popen[bytes]]:
    tmp.mkdir(parents=True, exist_ok=True)
    log = (tmp / "proxy.log").open("ab")
    if kind == "nginx":
        path = tmp / "nginx.conf"
        config = nginx_config(
            (DEPLOY / "nginx.conf").read_text(), port=port, bots=bots, secret=secret, tmp=tmp
        )
        path.write_text(config)
        args = ["nginx", "-c", str(path), "-p", str(tmp), "-e", str(tmp / "error.log")]
        env = None
    else:
        path = tmp / "Caddyfile"
        path.write_text(caddy_config((DEPLOY / "Caddyfile").read_text(), port=port, bots=bots))
        args = ["caddy", "run", "--config", str(path), "--adapter", "caddyfile"]
        env = {"PEERLINE_WEBHOOK_SECRET": secret, "HOME": str(tmp), "XDG_DATA_HOME": str(tmp)}
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            _, writer = await asyncio.open_connection(driver.LOOPBACK, port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise AssertionError(f"nothing listens on {port}")


async def status_of_upload(port: int, headers: dict[str, str], length: int) -> int:
    """POST a body of `length` bytes the way a slow client would, reading the answer as soon
    as the proxy gives one; the HTTP status."""
    reader, writer = await asyncio.open_connection(driver.LOOPBACK, port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(
        f"POST /telegram/anything HTTP/1.1\r\nHost: {driver.LOOPBACK}\r\n{head}"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()
    )

    async def upload() -> None:
        chunk = b" " * 65536
        with contextlib.suppress(ConnectionError):
            for _ in range(length // len(chunk)):
                writer.write(chunk)
                await writer.drain()

    sending = asyncio.create_task(upload())
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
    finally:
        sending.cancel()
        writer.close()
    return int(status_line.split()[1])


async def send_and_check(
    client: driver.TelegramUser, consultant: driver.TelegramUser, tag: str
) -> None:
    """Four messages from the client reach the consultant once each, in order (the bot may
    merge queued texts into one message)."""
    for i in range(4):
        await client.send_text(f"{tag}-{i}")
    await consultant.wait_for_message(f"{tag}-3")
    await asyncio.sleep(1)  # a double would be on its way by now
    seen = [w for m in await consultant.bot_messages() for w in m.text.split() if tag in w]
    assert seen == [f"{tag}-{i}" for i in range(4)]


async def test_the_deploy_proxy_config_fronts_two_bots(
    database: str,  # noqa: F811  (the fixture imported above)
    proxy_kind: str,
    start_bot: BotFactory,
    emulator: driver.Emulator,
    tmp_path: Path,
) -> None:
    port, bots_ports = driver.free_port(), [driver.free_port(), driver.free_port()]
    webhook_secret = secrets.token_urlsafe(32)
    proxy = start_proxy(
        proxy_kind, port=port, bots=bots_ports, secret=webhook_secret, tmp=tmp_path / "proxy"
    )
    next(proxy)
    try:
        await wait_port(port)
        token = driver.new_token()
        secret = secrets.token_urlsafe(48)
        env = {
            "PEERLINE_DATABASE_URL": database,
            "PEERLINE_SECRET_KEY": secret,
            "PEERLINE_WEBHOOK_URL": f"http://{driver.LOOPBACK}:{port}/telegram",
            "PEERLINE_WEBHOOK_SECRET": webhook_secret,
        }
        data = tmp_path / "cli"
        cli(["migrate"], data, secret, env)
        add = ["consultants", "add", str(CONSULTANT["user_id"]), "--name", "Peer"]
        cli([*add, "--role", "peer", "--languages", "en"], data, secret, env)
        bots = [
            await start_bot(
                name=name,
                mode="webhook",
                token=token,
                extra_env=env | {"PEERLINE_WEBHOOK_PORT": str(bot_port)},
            )
            for name, bot_port in zip(("one", "two"), bots_ports, strict=True)
        ]

        consultant = bots[0].user(**CONSULTANT, language_code="en")
        client = bots[0].user(**CLIENT)
        await consultant.send_command("duty", "on")
        await consultant.wait_for_message("on duty")
        await onboard_and_ask(client)
        await consultant.send_command("take")
        await client.wait_for_message("is now with you")
        await send_and_check(client, consultant, "through-proxy")
        await consultant.send_text("answer-through-proxy")
        await client.wait_for_message("answer-through-proxy")

        url = f"http://{driver.LOOPBACK}:{port}/telegram/anything"
        small, big = b'{"update_id": 1}', b"{" + b" " * (5 * 1024 * 1024) + b"}"
        right = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret}
        refused = {"nginx": 403, "caddy": 404}[proxy_kind]  # Caddy: "nothing here"
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            before = [len(b.log_text()) for b in bots]
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
                answer = await http.post(url, content=small, headers=headers)
                assert answer.status_code == refused
            if proxy_kind == "nginx":
                # nginx checks the declared length first: a big unauthenticated upload is
                # refused before a byte of it is read.
                answer = await http.post(url, content=big)
                assert answer.status_code == 413
            # The bots never saw those calls (a refused call leaves a webhook or tornado line).
            assert not [
                line
                for b, n in zip(bots, before, strict=True)
                for line in b.log_text()[n:].splitlines()
                if "webhook" in line or "tornado" in line
            ]
            # The right secret but a body over the limit: refused. nginx answers 413 itself.
            # Debian's Caddy 2.6 gives up reading at 1 MB, and depending on timing answers
            # 502 itself or relays the bot's own refusal (400, PEERLINE_WEBHOOK_MAX_BODY);
            # later versions say 413. The status is read while the upload is still going on.
            status = await status_of_upload(port, right, len(big))
            if proxy_kind == "nginx":
                assert status == 413
            else:
                assert status in (400, 413, 502), status

        # One process stops (a restart, a crash): the other one takes every update.
        await bots[1].astop()
        await send_and_check(client, consultant, "after-stop")
        assert "Traceback" not in bots[0].log_text()
        # The proxy's own log (errors included: one upstream went away) carries no secret:
        # neither the header nor the bot's secret path segment.
        proxy_log = (tmp_path / "proxy" / "proxy.log").read_text()
        proxy_log += (tmp_path / "proxy" / "error.log").read_text() if proxy_kind == "nginx" else ""
        assert webhook_secret not in proxy_log
        assert "/telegram/" not in proxy_log, proxy_log[-3000:]
    finally:
        next(proxy, None)
