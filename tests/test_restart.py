"""A restart mid-conversation loses nothing: state and pending sends are in the DB."""

from __future__ import annotations

from bot.app import build_application
from tests.conftest import offline_worker
from tests.harness import BotHarness, FakeTelegram, FakeUser
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost


async def restarted(harness: BotHarness, settings) -> BotHarness:  # type: ignore[no-untyped-def]
    """A second process on the same database (the first one's memory is gone)."""
    telegram = FakeTelegram()
    app = build_application(settings, request=telegram)
    await app.initialize()
    app.bot_data.delivery = offline_worker(app)
    return BotHarness(app, telegram)


async def test_conversation_continues_after_a_restart(harness: BotHarness, settings) -> None:
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    client = FakeUser(id=5550040001, language_code="en")
    await ask_about_ost(harness, client)
    await harness.send(CONSULTANT, "/take")

    # The client writes; the process dies before the outbox worker ran.
    harness.app.bot_data.delivery = None
    await harness.send(client, "written just before the crash")

    second = await restarted(harness, settings)
    try:
        await second.deliver()  # the new worker resumes the pending relay
        relayed = [m.text for m in second.inbox(CONSULTANT.id)]
        assert any("written just before the crash" in text for text in relayed)
        await second.send(CONSULTANT, "answer after the restart")
        assert second.screen(client).text.startswith(f"[copy of {CONSULTANT.id}/")
    finally:
        await second.app.shutdown()
        await second.app.bot_data.runtime.engine.dispose()


async def test_a_redelivered_update_is_recorded_once(harness: BotHarness, session_factory) -> None:
    from sqlalchemy import func, select

    from bot.models import Message

    await add_consultant(harness)
    client = FakeUser(id=5550040002, language_code="en")
    await ask_about_ost(harness, client)
    update = {
        "update_id": 424242,
        "message": {
            "message_id": 77,
            "date": 0,
            "chat": client.chat(),
            "from": client.as_dict(),
            "text": "only once please",
        },
    }
    from telegram import Update

    for _ in range(2):  # Telegram (or a webhook retry) delivers the same update twice
        await harness.app.process_update(Update.de_json(dict(update), harness.app.bot))
    async with session_factory() as session:
        count = await session.scalar(select(func.count()).select_from(Message))
    assert count == 1
