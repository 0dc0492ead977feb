"""Blocks and the flood limit, offline: /block, /unblock, /blocked and refusing a client."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from bot.crypto import Keys
from bot.models import AuditEntry, Block, Client, Conversation, Message
from bot.services import abuse, pseudonyms
from tests.conftest import TEST_SECRET
from tests.harness import BotHarness, FakeTelegram, FakeUser, Sent
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost

BLOCKED = "this chat can no longer send requests to consultants"
SLOWER = "Their replies may come more slowly"
SUPERVISOR = FakeUser(id=9100000020, first_name="Sofia", language_code="en")
STRANGER = FakeUser(id=5550000666, language_code="en")


@pytest.fixture
async def bot(harness: BotHarness) -> BotHarness:
    return harness


@pytest.fixture
async def talking(bot: BotHarness) -> FakeUser:
    """A client in an active conversation with CONSULTANT (a peer, on duty)."""
    await add_consultant(bot)
    await bot.send(CONSULTANT, "/duty on")
    client = FakeUser(id=5550007001, first_name="Mila", language_code="en")
    await ask_about_ost(bot, client)
    await bot.press(CONSULTANT, "Take it", bot.screen(CONSULTANT))
    await bot.send(client, "you are useless, I will find you")
    return client


async def send_as_reply(bot: BotHarness, user: FakeUser, text: str, to: Sent) -> Sent:
    command = {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
    return await bot.send_other(
        user, text=text, entities=[command], reply_to_message=FakeTelegram._message(to)
    )


async def count(session_factory, model) -> int:  # type: ignore[no-untyped-def]
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


# --- /block ----------------------------------------------------------------------------------


async def test_consultant_blocks_the_client_who_is_told_and_the_conversation_closes(
    bot: BotHarness, talking: FakeUser, session_factory
) -> None:
    before = len(bot.inbox(talking.id))
    confirm = await bot.send(CONSULTANT, "/block threatened me\nsecond line")
    assert "is blocked and the conversation is closed" in confirm.text
    assert "/unblock " in confirm.text

    told = bot.inbox(talking.id)[before:]
    assert len(told) == 1 and BLOCKED in told[0].text  # no rating request for this one
    assert told[0].labels == ["☰ Main menu"]
    async with session_factory() as session:
        conversation = await session.scalar(select(Conversation))
        block = await session.scalar(select(Block))
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert (conversation.status, conversation.outcome) == ("closed", "other")
    assert block.client_id == conversation.client_id and block.lifted_at is None
    assert abuse.decrypt_reason(Keys(TEST_SECRET), block.reason) == "threatened me\nsecond line"
    assert actions[-2:] == ["block", "close"]


async def test_block_needs_a_reason_and_a_conversation(bot: BotHarness, session_factory) -> None:
    await add_consultant(bot)
    assert "Please add a reason" in (await bot.send(CONSULTANT, "/block")).text
    # Holding none, there is nothing to choose from: said plainly (it asked "which?" before).
    assert "no open conversation" in (await bot.send(CONSULTANT, "/block spam")).text
    assert await count(session_factory, Block) == 0


async def test_block_by_reply_blocks_that_client_not_the_current_one(
    bot: BotHarness, talking: FakeUser, session_factory
) -> None:
    rude = next(m for m in bot.inbox(CONSULTANT.id) if "I will find you" in m.text)
    other = FakeUser(id=5550007002, language_code="en")
    await ask_about_ost(bot, other)
    await bot.send(CONSULTANT, "/take")  # the consultant now holds two conversations
    await send_as_reply(bot, CONSULTANT, "/block threats", rude)
    assert BLOCKED in bot.screen(talking).text
    assert BLOCKED not in bot.screen(other).text
    async with session_factory() as session:
        statuses = dict((await session.execute(select(Conversation.id, Conversation.status))).all())
    assert sorted(statuses.values()) == ["active", "closed"]


async def test_block_by_reply_to_something_else_asks_instead_of_guessing(
    bot: BotHarness, talking: FakeUser, session_factory
) -> None:
    notice = next(m for m in bot.inbox(CONSULTANT.id) if "New request" in m.text)
    reply = await send_as_reply(bot, CONSULTANT, "/block threats", notice)
    assert "Which conversation?" in reply.text
    assert await count(session_factory, Block) == 0


# --- Refusing a blocked or flooding client ------------------------------------------------------


async def test_blocked_client_asking_again_is_refused_politely(
    bot: BotHarness, talking: FakeUser, session_factory
) -> None:
    await bot.send(CONSULTANT, "/block threats")
    await bot.press_data(talking, "1ask:ost")
    refused = await bot.press_data(talking, "1urg:ost:0")
    assert BLOCKED in refused.text and "/overdose" in refused.text
    assert await count(session_factory, Conversation) == 1  # no new request in the queue
    # The menus still work for them.
    assert "verdose" in " ".join((await bot.send(talking, "/menu")).labels)


async def test_blocked_clients_message_is_not_recorded(
    bot: BotHarness, talking: FakeUser, session_factory
) -> None:
    await bot.send(CONSULTANT, "/block threats")
    recorded = await count(session_factory, Message)
    # Not even in a conversation opened before the block (e.g. by a race).
    async with session_factory() as session, session.begin():
        conversation = await session.scalar(select(Conversation))
        conversation.status = "waiting"
    reply = await bot.send(talking, "let me in")
    assert BLOCKED in reply.text
    assert await count(session_factory, Message) == recorded


async def test_a_client_writing_very_fast_loses_nothing_and_is_told_once_replies_may_be_slower(
    bot: BotHarness, talking: FakeUser, session_factory
) -> None:
    recorded = await count(session_factory, Message)
    async with session_factory() as session, session.begin():  # a fresh window
        await session.execute(update(Client).values(flood_count=0, flood_window_start=None))
    for n in range(30):
        await bot.send(talking, f"message {n}")
    assert await count(session_factory, Message) == recorded + 30  # the limit is 20
    consultant_chat = "\n".join(m.text for m in bot.inbox(CONSULTANT.id))
    assert all(f"\nmessage {n}" in consultant_chat for n in range(30))
    warnings = [m for m in bot.inbox(talking.id) if SLOWER in m.text]
    assert len(warnings) == 1 and "/overdose" in warnings[0].text
    assert "does not reach" not in " ".join(m.text for m in bot.inbox(talking.id))


async def test_refusal_is_false_for_a_client_in_good_standing(
    bot: BotHarness, talking: FakeUser, session_factory
) -> None:
    before = await count(session_factory, Message)
    await bot.send(talking, "a normal question")
    assert await count(session_factory, Message) == before + 1


# --- /unblock and /blocked ----------------------------------------------------------------------


async def test_non_staff_cannot_block_unblock_or_list(bot: BotHarness) -> None:
    for command in ("/block spam", "/unblock 123456", "/blocked"):
        reply = await bot.send(STRANGER, command)
        assert "for consultants only" in reply.text, command
        assert "do not know this command" not in reply.text


async def test_peer_cannot_unblock_or_list(
    bot: BotHarness, talking: FakeUser, session_factory
) -> None:
    await bot.send(CONSULTANT, "/block threats")
    pseudonym = (await abuse_views(session_factory))[0].pseudonym
    for command in (f"/unblock {pseudonym}", "/blocked"):
        assert (
            await bot.send(CONSULTANT, command)
        ).text == "Only supervisors and coordinators can do this."
    async with session_factory() as session:
        assert len(await abuse.list_blocks(session)) == 1


async def test_supervisor_lists_and_unblocks_and_the_client_may_ask_again(
    bot: BotHarness, talking: FakeUser, session_factory
) -> None:
    await add_consultant(bot, SUPERVISOR, display_name="Sofia", role="supervisor")
    assert "Nobody is blocked" in (await bot.send(SUPERVISOR, "/blocked")).text
    await bot.send(CONSULTANT, "/block threats")
    pseudonym = (await abuse_views(session_factory))[0].pseudonym

    name = pseudonyms.render(pseudonym, "en")  # "Blue Fox 42"

    listing = await bot.send(SUPERVISOR, "/blocked")
    assert f"{name} · " in listing.text
    assert "threats" not in listing.text  # reasons are not shown
    assert "Usage" in (await bot.send(SUPERVISOR, "/unblock")).text
    lifted = await bot.send(SUPERVISOR, f"/unblock {name.upper()}")
    assert f"The block on {name} is lifted" in lifted.text
    again = await bot.send(SUPERVISOR, f"/unblock {pseudonym}")
    assert f"{name} is not blocked" in again.text

    queued = await ask_about_ost(bot, talking)
    assert "in the queue" in queued.text
    assert await count(session_factory, Conversation) == 2


async def abuse_views(session_factory):  # type: ignore[no-untyped-def]
    async with session_factory() as session:
        return await abuse.list_blocks(session)
