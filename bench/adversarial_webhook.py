"""10,000 adversarial updates through the real bot's webhook; then count tracebacks and
identities in its log (issue 12, "Done when").

The bot runs as in production (`python -m bot run`, webhook mode, SQLite) against the local
Bot API emulator. The updates come from the fuzzing strategies of tests/test_fuzz.py (every
chat type, forged and replayed buttons of every kind, odd Unicode and lone surrogates, texts
over Telegram's limits, updates without a sender), posted straight to the bot's webhook with
the right secret, mixed with bodies that are not updates at all (not JSON, truncated, invalid
UTF-8, a JSON list) and replays of update ids already sent.

Afterwards the bot's whole log is searched for "Traceback" and for every name, username and id
the updates carried. Prints the figures; exits 1 if either count is not zero.

    .venv/bin/python bench/adversarial_webhook.py              # 10,000 updates
    .venv/bin/python bench/adversarial_webhook.py --updates 500
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import NonInteractiveExampleWarning  # noqa: E402

from bot.callbacks import _SCHEMA, VERSION  # noqa: E402
from tests.e2e import driver  # noqa: E402
from tests.test_fuzz import PEOPLE, REPLAY, updates  # noqa: E402

BATCH = 100  # updates drawn from hypothesis at once


def draw_updates(count: int, rng: random.Random) -> list[dict[str, Any]]:
    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    found: list[dict[str, Any]] = []
    strategy = st.lists(updates(), min_size=BATCH, max_size=BATCH)
    while len(found) < count:
        found.extend(strategy.example())
    kinds = sorted(_SCHEMA)
    for update in found:  # the fuzz tests replay buttons the bot sent; here, any kind
        query = update.get("callback_query")
        if query and query.get("data") == REPLAY:
            query["data"] = f"{VERSION}{rng.choice(kinds)}:1"
    return found[:count]


def bodies(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """(what it is, the HTTP body), in the order they are sent."""
    out: list[tuple[str, bytes]] = []
    sent_ids: list[int] = []
    next_id = 1
    for update in draw_updates(count, rng):
        roll = rng.random()
        if roll < 0.02:
            out.append(("not json", b"\x00\xffnot json at all"))
        elif roll < 0.04:
            whole = json.dumps({"update_id": next_id, **update}).encode()
            out.append(("truncated", whole[: len(whole) // 2]))
        elif roll < 0.05:
            out.append(("invalid utf-8", b'{"update_id": 1, "message": "\xc3\x28"}'))
        elif roll < 0.06:
            out.append(("json list", b"[1, 2, 3]"))
        elif roll < 0.09 and sent_ids:
            replay = rng.choice(sent_ids)  # a duplicate update id (Telegram retries)
            out.append(("replayed id", json.dumps({"update_id": replay, **update}).encode()))
        else:
            # json.dumps escapes lone surrogates as \\udXXX, as Telegram's JSON can.
            out.append(("update", json.dumps({"update_id": next_id, **update}).encode()))
            sent_ids.append(next_id)
            next_id += 1
    return out


def canaries() -> list[str]:
    """Every identity the updates carried: names, usernames, ids (as digits)."""
    found: set[str] = set()
    for person in PEOPLE:
        found.update({person.first_name, person.last_name, person.username, str(person.id)})
    return sorted(c for c in found if c and len(c) >= 4)


async def run(count: int, seed: int, concurrency: int) -> int:
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="peerline-adversarial-"))
    print(f"generating {count} updates (seed {seed}) ...", flush=True)
    plan = bodies(count, rng)
    emulator = driver.Emulator.start(work / "emulator.log")
    bot = await driver.start_bot(
        emulator, data_dir=work / "data", log_path=work / "bot.log", mode="webhook"
    )
    try:
        calls, _ = await emulator.calls(bot.token, "setWebhook", 0)
        url = next(str(c["params"]["url"]) for c in calls if c["ok"])
        headers = {
            "X-Telegram-Bot-Api-Secret-Token": bot.webhook_secret or "",
            "Content-Type": "application/json",
        }
        statuses: collections.Counter[tuple[str, int]] = collections.Counter()
        gate = asyncio.Semaphore(concurrency)
        started = time.perf_counter()
        async with httpx.AsyncClient(trust_env=False, timeout=60) as http:

            async def post(kind: str, body: bytes) -> None:
                async with gate:
                    try:
                        answer = await http.post(url, content=body, headers=headers)
                        statuses[(kind, answer.status_code)] += 1
                    except httpx.HTTPError as error:
                        statuses[(kind, -1)] += 1
                        print(f"  {kind}: {type(error).__name__}", flush=True)

            # One person's updates follow each other in Telegram; a small window of
            # concurrency keeps that roughly so while still loading the bot.
            await asyncio.gather(*(post(kind, body) for kind, body in plan))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(5)  # let the outbox worker finish what the updates queued
        alive = bot.is_running()
    finally:
        await bot.astop()
        emulator.stop()
    log = (work / "bot.log").read_text(errors="replace")
    tracebacks = log.count("Traceback")
    identity_hits = {c: len(re.findall(re.escape(c), log)) for c in canaries()}
    identity_hits = {c: n for c, n in identity_hits.items() if n}
    print(f"\n{len(plan)} requests in {elapsed:.1f} s ({len(plan) / elapsed:.0f}/s)")
    print("answers (kind, HTTP status): count")
    for (kind, status), n in sorted(statuses.items()):
        print(f"  {kind:14} {status:4}  {n}")
    print(f"bot still running: {alive}")
    print(f"log lines: {log.count(chr(10))}, tracebacks: {tracebacks}")
    print(f"identities in the log: {sum(identity_hits.values())} {identity_hits or ''}")
    print(f"log: {work / 'bot.log'}")
    return 0 if alive and tracebacks == 0 and not identity_hits else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    reason = driver.emulator_unavailable_reason()
    if reason:
        sys.exit(f"the emulator is not available: {reason}")
    sys.exit(asyncio.run(run(args.updates, args.seed, args.concurrency)))


if __name__ == "__main__":
    main()
