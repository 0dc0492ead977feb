"""Periodic work: the referral follow-up and long-wait alerts (time travel, no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot import maintenance
from bot.models import Client, Conversation
from tests.harness import BotHarness, FakeUser
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost


async def referred_conversation(harness: BotHarness, client: FakeUser) -> None:
    await ask_about_ost(harness, client)
    await harness.send(CONSULTANT, "/take")
    outcome = await harness.send(CONSULTANT, "/close")
    await harness.press(CONSULTANT, "referred to a service", outcome)


async def time_travel_follow_ups(harness: BotHarness) -> None:
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.follow_up_at.is_not(None))
            .values(follow_up_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    await maintenance.run_once(runtime)
    await harness.deliver()


async def test_referred_client_is_asked_once_and_the_answer_is_stored(
    harness: BotHarness, session_factory
) -> None:
    await add_consultant(harness)
    client = FakeUser(id=5550030001, language_code="en")
    await referred_conversation(harness, client)
    async with session_factory() as session:
        planned = await session.scalar(select(Conversation.follow_up_at))
    assert planned is not None and planned.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(
        days=2
    )

    await time_travel_follow_ups(harness)
    question = harness.screen(client)
    assert "Did you get there" in question.text
    await maintenance.run_once(harness.app.bot_data.runtime)  # nothing asked twice
    await harness.deliver()
    assert harness.screen(client) is question or harness.screen(client).text == question.text
    thanks = await harness.press(client, "Yes, and it helped", question)
    assert "Thank you for your answer" in thanks.text
    async with session_factory() as session:
        assert await session.scalar(select(Conversation.follow_up_answer)) == "helped"


async def test_do_not_ask_again_is_remembered(harness: BotHarness, session_factory) -> None:
    await add_consultant(harness)
    client = FakeUser(id=5550030002, language_code="en")
    await referred_conversation(harness, client)
    await time_travel_follow_ups(harness)
    await harness.press(client, "Do not ask me again")
    async with session_factory() as session:
        assert await session.scalar(select(Client.no_follow_up)) is True
    await referred_conversation(harness, client)  # a second referral: no new question planned
    async with session_factory() as session:
        rows = (await session.execute(select(Conversation.follow_up_at))).scalars().all()
    assert all(value is None for value in rows)


async def test_long_wait_alerts_supervisors_once(harness: BotHarness) -> None:
    supervisor = FakeUser(id=9100000050, language_code="en")
    await add_consultant(harness, supervisor, display_name="Maria", role="supervisor")
    await harness.send(supervisor, "/duty off")
    client = FakeUser(id=5550030003, language_code="en")
    await ask_about_ost(harness, client)
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        await session.execute(
            update(Conversation).values(created_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert await maintenance.run_once(runtime) == 1
    await harness.deliver()
    alert = harness.screen(supervisor)
    assert "has waited" in alert.text and "Take it" in alert.labels
    assert await maintenance.run_once(runtime) == 0
