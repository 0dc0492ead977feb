"""Clients opt in and out of news, by command or in settings; stored in the database."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import Client
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard


async def subscribed(session_factory) -> bool:  # type: ignore[no-untyped-def]
    async with session_factory() as session:
        return (await session.scalar(select(Client.subscribed_at))) is not None


async def test_subscribe_and_unsubscribe_by_command(harness: BotHarness, session_factory) -> None:
    user = FakeUser(language_code="en")
    await onboard(harness, user, "en")
    reply = await harness.send(user, "/subscribe")
    assert "You are subscribed to news" in reply.text
    assert await subscribed(session_factory)
    reply = await harness.send(user, "/unsubscribe")
    assert "not get news" in reply.text
    assert not await subscribed(session_factory)


async def test_settings_show_and_toggle_news(harness: BotHarness, session_factory) -> None:
    user = FakeUser(language_code="en")
    await onboard(harness, user, "en")
    settings = await harness.send(user, "/settings")
    assert "News: off" in settings.text
    on = await harness.press(user, "Subscribe to news", settings)
    assert "News: on" in on.text and "Unsubscribe from news" in on.labels
    off = await harness.press(user, "Unsubscribe from news", on)
    assert "News: off" in off.text
    assert not await subscribed(session_factory)


async def test_subscribing_before_choosing_a_language_continues_onboarding(
    harness: BotHarness, session_factory
) -> None:
    user = FakeUser(language_code="en")
    screen = await harness.send(user, "/subscribe")
    assert "English" in screen.labels
    assert not await subscribed(session_factory)
