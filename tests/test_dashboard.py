"""/dashboard (issues 10 and 13): a supervisor gets the team's desk and this month's figures
so far, suppressed as /report's are and audited; nobody else gets either."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import AuditEntry
from bot.services import events
from tests.harness import BotHarness, FakeUser
from tests.test_consultation import add_consultant, ask_about_ost
from tests.test_report_bot import sent_to

SUPERVISOR = FakeUser(id=9100000501, first_name="Sveta", username="sveta_d", language_code="en")
CLIENTS = [FakeUser(id=5550051001 + n, language_code="en") for n in range(6)]


async def test_a_supervisor_sees_the_desk_and_the_month_so_far(
    harness: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    events.install()
    member = await add_consultant(harness, SUPERVISOR, display_name="Sveta", role="supervisor")
    for client in CLIENTS:  # six requests this month: above the small-number threshold of 5
        await ask_about_ost(harness, client)
    since = len(harness.telegram.calls)
    await harness.send(SUPERVISOR, "/dashboard")
    texts = [str(p.get("text", "")) for name, p in sent_to(harness, SUPERVISOR.id, since)]
    assert len(texts) == 2, texts
    desk, figures = texts
    assert desk.startswith("<b>Desk</b>") and "⏳ Waiting: 6," in desk
    assert "Peerline indicators" in figures
    assert "     6  Conversations opened" in figures
    assert "files below" not in figures and "/report month" in figures
    async with session_factory() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "report"))
    assert entry is not None and entry.staff_id == member
    assert entry.detail is not None and entry.detail.startswith("dashboard ")


@pytest.mark.parametrize("role", [None, "peer", "channel_admin"])
async def test_no_one_but_a_supervisor_gets_the_dashboard(
    harness: BotHarness, session_factory: async_sessionmaker[AsyncSession], role: str | None
) -> None:
    user = FakeUser(id=9100000599, first_name="Ivan", username="ivan_d", language_code="en")
    if role is not None:
        await add_consultant(harness, user, display_name="Ivan", role=role)
    await ask_about_ost(harness, CLIENTS[0])
    since = len(harness.telegram.calls)
    await harness.send(user, "/dashboard")
    texts = [str(p.get("text", "")) for _, p in sent_to(harness, user.id, since)]
    assert len(texts) == 1
    assert "indicators" not in texts[0] and "Conversations opened" not in texts[0]
    async with session_factory() as session:
        audited = select(func.count()).where(AuditEntry.action == "report")
        assert await session.scalar(audited) == 0
