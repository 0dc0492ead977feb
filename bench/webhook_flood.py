"""Peak memory of the webhook server under five parallel 90 MiB unauthenticated POSTs.

    python bench/webhook_flood.py            # both servers, one after the other
    python bench/webhook_flood.py peerline   # only ours (bot/webhook.py)
    python bench/webhook_flood.py ptb        # only python-telegram-bot's own handler

Each server runs in a child process with a bare python-telegram-bot Application (offline); the
parent streams the bodies (it never holds them) and reads the child's peak resident memory
(VmHWM) from /proc afterwards. Linux only.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SIZE = 90 * 1024 * 1024
PARALLEL = 5
SECRET = "flood-secret-0123456789"


def serve(kind: str, port: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from telegram.ext import ApplicationBuilder
    from telegram.ext._utils.webhookhandler import WebhookAppClass
    from tornado.httpserver import HTTPServer

    from bot import webhook
    from bot.metrics import Metrics

    async def main() -> None:
        app = ApplicationBuilder().token("123456:FLOOD-abcdefghijklmnopqrstuvwxyz").build()
        if kind == "ptb":
            server = HTTPServer(WebhookAppClass("/hook", app.bot, app.update_queue, SECRET))
        else:
            tornado_app = webhook.make_app(
                app, path="hook", secret=SECRET, max_body=1024 * 1024, metrics=Metrics()
            )
            server = webhook.make_server(tornado_app, max_body=1024 * 1024)
        server.listen(port, "127.0.0.1")
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


async def flood(port: int) -> list[str]:
    async def body():  # type: ignore[no-untyped-def]
        block = b"x" * (1024 * 1024)
        for _ in range(SIZE // len(block)):
            yield block

    async def one() -> str:
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(SIZE),
            "X-Telegram-Bot-Api-Secret-Token": "wrong-secret-0123456789",
        }
        try:
            async with httpx.AsyncClient(timeout=120) as client:
                response = await client.post(
                    f"http://127.0.0.1:{port}/hook", content=body(), headers=headers
                )
                return str(response.status_code)
        except httpx.HTTPError as exc:  # ours closes the connection instead of reading 90 MiB
            return type(exc).__name__

    return await asyncio.gather(*(one() for _ in range(PARALLEL)))


def measure(kind: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        before = peak_rss_mib(child.pid)
        started = time.perf_counter()
        outcomes = asyncio.run(flood(port))
        elapsed = time.perf_counter() - started
        time.sleep(0.5)
        print(
            f"{kind:9} peak RSS {before:6.1f} MiB idle -> {peak_rss_mib(child.pid):6.1f} MiB "
            f"after {PARALLEL} x {SIZE // 2**20} MiB POSTs in {elapsed:.1f} s; answers: {outcomes}"
        )
    finally:
        child.kill()
        child.wait()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        for kind in sys.argv[1:] or ["ptb", "peerline"]:
            measure(kind)
