"""No Telegram identity of a client reaches the database or the logs."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.logs import pin_library_levels
from bot.models import Client
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard

CANARY = FakeUser(
    id=7312345678,
    first_name="Ksenofontiya",
    last_name="Zabolotnaya",
    username="ksenia_canary_777",
    language_code="uk",
)


async def test_database_file_holds_no_name_username_or_telegram_id(
    harness: BotHarness, db_url: str, engine, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    pin_library_levels()  # the production logging policy, at the most verbose level
    await onboard(harness, CANARY, "uk")
    await harness.send(CANARY, "/menu")
    await harness.send(CANARY, "Ksenofontiya lives at 5 Canary street")
    await harness.send(CANARY, "/settings")
    needles = [
        CANARY.first_name,
        CANARY.last_name,
        CANARY.username,
        str(CANARY.id),
        CANARY.id.to_bytes(8, "little").hex(),
    ]
    if db_url.startswith("sqlite"):
        await engine.dispose()  # flush the WAL into the file we scan
        path = Path(make_url(db_url).database)
        blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for needle in needles[:4]:
            assert needle.encode() not in blob, f"{needle} found in the database file"
        assert CANARY.id.to_bytes(8, "little") not in blob
    else:
        async with engine.connect() as conn:
            from sqlalchemy import text

            dump = str((await conn.execute(text("SELECT * FROM clients"))).all())
        for needle in needles[:4]:
            assert needle not in dump
    for needle in needles[:4]:
        assert needle not in caplog.text, f"{needle} found in the logs"


async def test_client_is_stored_by_hmac_with_an_encrypted_chat_id(
    harness: BotHarness, session_factory
) -> None:
    await onboard(harness, CANARY, "uk")
    runtime = harness.app.bot_data.runtime
    async with session_factory() as session:
        row = await session.scalar(select(Client))
    assert row.key == runtime.keys.client_key(CANARY.id)
    assert len(row.key) == 64
    assert runtime.keys.decrypt_chat_id(row.chat_ref) == CANARY.id
    assert row.language == "uk"  # the choice made in the bot, not Telegram's language_code
