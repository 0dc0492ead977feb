"""What else the anonymous events and counters capture through the real flows: aid requests by
kind, subscriptions (and a /forget of a subscriber), posts published and delivered; and that
the report libraries stay out of the bot's start-up."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.models import Outbox, Post
from bot.models_events import AnonEvent, DailyCount, ReachMark
from bot.services import events, tally, usage
from bot.services.clients import ClientState
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard
from tests.test_forget import YES
from tests.test_humanitarian import open_form

CLIENT = FakeUser(id=5550042001, first_name="Dana", username="dana_r", language_code="en")


async def counters(sessions: async_sessionmaker[AsyncSession], kind: str) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(DailyCount.key, func.sum(DailyCount.count))
            .where(DailyCount.kind == kind)
            .group_by(DailyCount.key)
        )
        return {key: int(total) for key, total in rows}


async def kinds(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return sorted(await session.scalars(select(AnonEvent.kind)))


async def test_an_aid_request_is_counted_by_kind(
    harness: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    needs = await open_form(harness, CLIENT)
    await harness.press(CLIENT, "Hygiene kit", needs)
    sent = await harness.send(CLIENT, "for one person")
    assert "request for aid is sent" in sent.text
    assert await counters(session_factory, tally.AID) == {"hygiene": 1}
    async with session_factory() as session:
        opened = await session.scalar(select(AnonEvent).where(AnonEvent.kind == "opened"))
    assert opened is not None and opened.detail == "humanitarian" and opened.country == "UA"


async def test_subscriptions_and_a_forgotten_subscriber(
    harness: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await onboard(harness, CLIENT, "en")
    await harness.send(CLIENT, "/subscribe")
    await harness.send(CLIENT, "/unsubscribe")
    await harness.send(CLIENT, "/subscribe")
    assert await kinds(session_factory) == ["subscribed", "subscribed", "unsubscribed"]
    confirm = await harness.send(CLIENT, "/forget")
    await harness.press(CLIENT, YES, confirm)
    # Leaving with /forget is leaving: counted today, the past figures stay as they were.
    assert await kinds(session_factory) == [
        "subscribed",
        "subscribed",
        "unsubscribed",
        "unsubscribed",
    ]


async def test_a_post_published_and_its_deliveries(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    events.install()
    async with session_factory() as session, session.begin():
        post = Post(status="scheduled")
        session.add(post)
        await session.flush()
        for n in range(3):
            session.add(
                Outbox(
                    method="sendMessage",
                    chat_ref=b"x",
                    recipient=f"client:{n}",
                    payload=b"{}",
                    post_id=post.id,
                )
            )
        await session.flush()
        post_id = post.id
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Post).where(Post.id == post_id).values(status="published"),
            execution_options={"synchronize_session": False},
        )
        await session.execute(
            update(Outbox).where(Outbox.recipient != "client:2").values(status="sent"),
            execution_options={"synchronize_session": False},
        )
        # Sent again (a retry that finds it sent): counted once.
        await session.execute(
            update(Outbox).where(Outbox.recipient == "client:0").values(status="sent"),
            execution_options={"synchronize_session": False},
        )
    assert await kinds(session_factory) == ["post_published"]
    assert await counters(session_factory, tally.POST_REACH) == {"": 2}


async def test_a_rolled_back_change_leaves_no_event(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    events.install()
    async with session_factory() as session, session.begin():
        post = Post(status="scheduled")
        session.add(post)
        await session.flush()
        post_id = post.id
    async with session_factory() as session:
        await session.begin()
        await session.execute(update(Post).where(Post.id == post_id).values(status="published"))
        await session.rollback()
    assert await kinds(session_factory) == []  # the same transaction: gone with it


def test_the_bot_starts_without_the_report_libraries() -> None:
    code = (
        "import sys, bot.app, bot.cli, handlers.report; "
        "print(sorted(m for m in ('matplotlib', 'openpyxl') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


async def test_a_returning_client_is_marked_reached_once_and_every_screen_is_counted(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The reach marks this process committed today are not written again (one statement a
    screen for a returning client); each screen still counts one more view."""
    state = ClientState(
        id=1,
        key="key-returning",
        language="en",
        privacy_seen=True,
        country="UA",
        city=None,
        awaiting=None,
    )
    statements: list[list[str]] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements[-1].append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    for node in ("hiv", "hiv", "ost"):
        statements.append([])
        await usage.screen_viewed(session_factory, node, state)
    event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert await counters(session_factory, tally.SCREEN) == {"hiv": 2, "ost": 1}
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(ReachMark)) == 3
    first, *later = statements
    assert any("reach_marks" in statement for statement in first)
    assert [len(screen) for screen in later] == [1, 1]  # the counter's upsert alone
    assert all("daily_counts" in screen[0] for screen in later)
