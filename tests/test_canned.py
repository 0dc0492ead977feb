"""Canned answers and the staff profile (/cap, /topics), offline through the harness."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.models import Message, Staff
from bot.services import canned
from tests.harness import BotHarness, FakeUser
from tests.test_consultation import add_consultant, ask_about_ost, name_of

ANNA = FakeUser(id=9300000001, first_name="Anna", username="anna_c", language_code="en")
SUPER = FakeUser(id=9300000002, first_name="Sveta", username="sveta_s", language_code="en")
CLIENT = FakeUser(id=5570000001, first_name="Ksenia", username="ksenia_c", language_code="en")
STAFF_COMMANDS = (
    "/canned",
    "/canned_add en Hi | Hello",
    "/canned_delete 1",
    "/rota",
    "/rota mon-fri 10-18",
    "/cap 5",
    "/topics",
)


@pytest.fixture
async def tools(harness: BotHarness) -> BotHarness:
    await add_consultant(harness, ANNA, display_name="Anna")
    await add_consultant(harness, SUPER, display_name="Sveta", role="supervisor")
    return harness


async def test_client_is_refused_every_staff_command(tools: BotHarness) -> None:
    for command in STAFF_COMMANDS:
        reply = await tools.send(CLIENT, command)
        assert reply.text == "This is for consultants only.", command


async def test_peer_cannot_manage_canned_answers(tools: BotHarness, session_factory) -> None:
    reply = await tools.send(ANNA, "/canned_add en Hi | Hello there")
    assert "Only supervisors" in reply.text
    async with session_factory() as session:
        assert await canned.list_for(session, "en") == []
        added = await canned.add(session, language="en", title="Hi", body="Hello")
        await session.commit()
    reply = await tools.send(ANNA, f"/canned_delete {added.id}")
    assert "Only supervisors" in reply.text
    async with session_factory() as session:
        assert await canned.get(session, added.id) is not None


async def test_supervisor_adds_lists_and_deletes(tools: BotHarness, session_factory) -> None:
    reply = await tools.send(
        SUPER, "/canned_add en Naloxone | Naloxone <b>reverses</b>\nan overdose."
    )
    assert "Saved canned answer" in reply.text and "Naloxone" in reply.text
    assert "Usage" in (await tools.send(SUPER, "/canned_add xx Oops | text")).text
    assert "Usage" in (await tools.send(SUPER, "/canned_add en no bar here")).text
    assert "Usage" in (await tools.send(SUPER, "/canned_add en  | body only")).text
    async with session_factory() as session:
        [answer] = await canned.list_for(session, "en")
    assert answer.body == "Naloxone <b>reverses</b>\nan overdose."
    listing = await tools.send(ANNA, "/canned")
    assert listing.labels == ["Naloxone"] and "Choose a conversation first" in listing.text
    assert "Usage" in (await tools.send(SUPER, "/canned_delete x")).text
    assert "Deleted" in (await tools.send(SUPER, f"/canned_delete {answer.id}")).text
    assert "There is no" in (await tools.send(SUPER, f"/canned_delete {answer.id}")).text
    assert "No canned answers in en" in (await tools.send(ANNA, "/canned")).text


async def test_canned_answer_goes_to_the_client(tools: BotHarness, session_factory) -> None:
    async with session_factory() as session:
        await canned.add(session, language="en", title="Hours", body="We answer <daily>.")
        await canned.add(session, language="ru", title="Часы", body="Отвечаем каждый день.")
        await session.commit()
    await tools.send(ANNA, "/duty on")
    await ask_about_ost(tools, CLIENT)
    await tools.press(ANNA, "Take it", tools.screen(ANNA))
    listing = await tools.send(ANNA, "/canned")
    assert listing.labels == ["Hours"]  # the conversation's language only
    assert "Press one to send it" in listing.text
    before = len(tools.telegram.calls)
    confirm = await tools.press(ANNA, "Hours", listing)
    assert confirm.text == f"Sent to {await name_of(tools, CLIENT)}: Hours"
    to_client = [
        p
        for name, p in tools.telegram.calls[before:]
        if name == "sendMessage" and int(p["chat_id"]) == CLIENT.id
    ]
    assert len(to_client) == 1
    assert to_client[0]["text"] == "We answer &lt;daily&gt;."
    assert to_client[0].get("protect_content") is True
    async with session_factory() as session:
        rows = (await session.scalars(select(Message).where(Message.author == "staff"))).all()
    assert len(rows) == 1 and rows[0].kind == "text" and rows[0].staff_id is not None
    # A forged id is answered politely, nothing is sent.
    before = len(tools.telegram.calls)
    await tools.press_data(ANNA, "1can:999999", listing)
    sent = [n for n, p in tools.telegram.calls[before:] if n in ("sendMessage", "copyMessage")]
    assert sent == []


async def test_cap_sets_the_load(tools: BotHarness, session_factory) -> None:
    assert "Conversations at once: 3" in (await tools.send(ANNA, "/cap")).text
    for bad in ("/cap 0", "/cap 21", "/cap many"):
        assert "/cap N" in (await tools.send(ANNA, bad)).text, bad
    assert "Saved. Conversations at once: 7." in (await tools.send(ANNA, "/cap 7")).text
    async with session_factory() as session:
        row = await session.scalar(select(Staff).where(Staff.display_name == "Anna"))
    assert row.max_active == 7


async def test_topics_toggle_and_one_stays_on(tools: BotHarness, session_factory) -> None:
    screen = await tools.send(ANNA, "/topics")
    assert "✅ OST" in screen.labels and "✅ legal" in screen.labels
    screen = await tools.press(ANNA, "✅ OST", screen)
    assert "▫️ OST" in screen.labels
    async with session_factory() as session:
        row = await session.scalar(select(Staff).where(Staff.display_name == "Anna"))
    assert "ost" not in row.topics and "hiv" in row.topics
    screen = await tools.press(ANNA, "▫️ OST", screen)
    assert "✅ OST" in screen.labels
    # Switch off all but one: the last one refuses to go.
    for label in [label for label in screen.labels if label != "✅ general question"]:
        screen = await tools.press(ANNA, label, screen)
    assert [label for label in screen.labels if label.startswith("✅")] == ["✅ general question"]
    await tools.press(ANNA, "✅ general question", screen)
    async with session_factory() as session:
        row = await session.scalar(
            select(Staff)
            .where(Staff.display_name == "Anna")
            .execution_options(populate_existing=True)
        )
    assert row.topics == ("general",)
