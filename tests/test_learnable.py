"""Learnable in the bot (issue 10): a volunteer added by the CLI learns their job from the bot.

Per-person command menus (chat-scoped setMyCommands, through the outbox), a welcome with the
first three steps, /help and /start for staff, and a practice conversation that leaves no trace.
"""

from __future__ import annotations

import argparse
import json

import pytest
from sqlalchemy import func, select

from bot import cli_staff, guide, permissions
from bot.models import Client, Conversation, Message, Outbox, Staff
from bot.services import staff_guide
from tests.harness import BotHarness, FakeUser
from tests.test_consultation import add_consultant, ask_about_ost

OLENA = FakeUser(id=9100000201, first_name="Olena", username="olena_x", language_code="en")

# Commands a client may use too (the permissions table lets everyone use them).
CLIENT_MENU = [name for name, _text in guide.CLIENT_COMMANDS]


def staff_only_commands(role: str) -> set[str]:
    """From the table itself: commands (not buttons or inputs) the role may use, a client not."""
    roles = permissions.roles_of(role)
    client = permissions.roles_of(None)
    return {
        name
        for name in permissions.TABLE
        if ":" not in name
        and name != "answer"
        and permissions.allowed(roles, name)
        and not permissions.allowed(client, name)
    }


@pytest.mark.parametrize("role", list(guide.ROLE_NAMES))
def test_each_role_lists_exactly_its_commands_from_the_permissions_table(role: str) -> None:
    listed = guide.commands_for(role)
    assert len(listed) == len(set(listed))
    assert set(listed) - {"start", "cancel"} == staff_only_commands(role)
    roles = permissions.roles_of(role)
    assert all(permissions.allowed(roles, name) for name in listed)


def test_every_staff_command_of_the_table_has_its_one_line() -> None:
    """The /help and menu lines cannot drift: a new command needs its line in bot/guide.py."""
    every = set().union(*(staff_only_commands(role) for role in guide.ROLE_NAMES))
    assert every <= set(guide.STAFF_COMMANDS), every - set(guide.STAFF_COMMANDS)


def test_command_counts_per_role() -> None:
    counts = {role: len(guide.commands_for(role)) for role in guide.ROLE_NAMES}
    assert counts["peer"] == counts["lawyer"] == counts["medic"] == counts["psychologist"]
    assert counts["peer"] < counts["supervisor"] < counts["admin"]
    assert "take" not in guide.commands_for("channel_admin")
    assert {"post", "posts", "channels"} <= set(guide.commands_for("channel_admin"))
    assert "invite" in guide.commands_for("admin") and "invite" not in guide.commands_for("peer")


def add_args(harness: BotHarness, user: FakeUser, **values: str | None) -> argparse.Namespace:
    fields = {"name": "Olena", "role": "peer", "languages": "uk,ru", "topics": None} | values
    return argparse.Namespace(
        telegram_id=str(user.id), i18n=harness.app.bot_data.runtime.i18n, **fields
    )


async def cli(harness: BotHarness, action, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    """What `peerline consultants add|remove` does, against the harness's database; the
    running bot (the harness's worker) then delivers what it queued."""
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        await action(session, runtime.keys, args)
    await harness.deliver()


def menu_calls(harness: BotHarness) -> list[tuple[str, dict]]:
    return [
        (name, params)
        for name, params in harness.telegram.calls
        if name in ("setMyCommands", "deleteMyCommands") and "scope" in params
    ]


async def test_a_consultant_added_by_the_cli_gets_a_welcome_and_their_menu_in_their_language(
    harness: BotHarness, capsys
) -> None:  # type: ignore[no-untyped-def]
    await cli(harness, cli_staff._add, add_args(harness, OLENA))
    assert "welcome" in capsys.readouterr().out

    welcome = harness.inbox(OLENA.id)[0].text
    assert "Ласкаво просимо до команди" in welcome  # Ukrainian: her first language
    assert "«Olena»" in welcome
    for step in ("1. /duty on", "2. ", "/take", "3. /close", "/practice"):
        assert step in welcome
    assert "«Взяти»" in welcome  # the button's own label, in her language

    expected = guide.commands_for("peer") + [c for c in CLIENT_MENU if c not in {"start"}]
    assert harness.telegram.menu(OLENA.id) == expected
    (name, params), *_ = menu_calls(harness)
    scope = json.loads(params["scope"]) if isinstance(params["scope"], str) else params["scope"]
    assert name == "setMyCommands" and scope == {"type": "chat", "chat_id": OLENA.id}
    lines = dict(harness.telegram.menus[("chat", OLENA.id, "")])
    assert lines["duty"].startswith("/duty on або /duty off")
    assert harness.telegram.menu(None) == CLIENT_MENU  # everyone else keeps the client menu


async def test_a_new_role_gets_a_new_menu_and_removal_resets_it(harness: BotHarness) -> None:
    await cli(harness, cli_staff._add, add_args(harness, OLENA))
    assert "unblock" not in harness.telegram.menu(OLENA.id)

    await cli(harness, cli_staff._add, add_args(harness, OLENA, role="supervisor"))
    menu = harness.telegram.menu(OLENA.id)
    assert {"unblock", "blocked", "canned_add"} <= set(menu)
    assert "супервізор" in harness.inbox(OLENA.id)[-1].text  # welcomed in the new role

    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        staff_id = await session.scalar(select(Staff.id))
    await cli(harness, cli_staff._remove, argparse.Namespace(staff_id=str(staff_id)))
    assert menu_calls(harness)[-1][0] == "deleteMyCommands"
    assert harness.telegram.menu(OLENA.id) == CLIENT_MENU  # back to everyone's menu


async def test_updating_languages_sends_the_menu_again_without_a_second_welcome(
    harness: BotHarness,
) -> None:
    await cli(harness, cli_staff._add, add_args(harness, OLENA))
    welcomes = len(harness.inbox(OLENA.id))
    await cli(harness, cli_staff._add, add_args(harness, OLENA, languages="en"))
    assert len(harness.inbox(OLENA.id)) == welcomes
    lines = dict(harness.telegram.menus[("chat", OLENA.id, "")])
    assert lines["duty"] == "/duty on or /duty off: receive new requests or not"


async def test_menus_are_published_again_for_every_member_at_start(harness: BotHarness) -> None:
    await add_consultant(harness)
    await add_consultant(harness, OLENA, display_name="Olena", role="channel_admin")
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        assert await staff_guide.queue_all_menus(session, runtime.keys, runtime.i18n) == 2
    await harness.deliver()
    assert "post" in harness.telegram.menu(OLENA.id)
    assert "take" not in harness.telegram.menu(OLENA.id)


async def test_an_invite_link_welcomes_with_the_first_steps_and_sets_the_menu(
    harness: BotHarness, settings
) -> None:  # type: ignore[no-untyped-def]
    admin = FakeUser(id=9100000009, language_code="en")
    settings.admin_ids.append(admin.id)
    reply = await harness.send(admin, "/invite channel_admin")
    token = reply.text.split("?start=")[1].split()[0]
    welcome = await harness.send(OLENA, f"/start {token}")
    assert "channel admin" in welcome.text
    for step in ("1. /channels", "2. /post", "3. /posts"):
        assert step in welcome.text
    assert "/duty" not in welcome.text and "/practice" not in welcome.text
    menu = harness.telegram.menu(OLENA.id)
    assert menu[: len(guide.commands_for("channel_admin"))] == guide.commands_for("channel_admin")


async def test_staff_help_lists_their_role_commands_and_the_client_part_briefly(
    harness: BotHarness,
) -> None:
    await add_consultant(harness)
    from tests.test_consultation import CONSULTANT

    text = (await harness.send(CONSULTANT, "/help")).text
    lines = text.splitlines()
    for name in guide.commands_for("peer"):
        assert any(line.startswith(f"/{name} – ") for line in lines), name
    assert "/invite" not in text and "/post " not in text
    assert "/menu /overdose" in text  # the client part, in one line

    client = FakeUser(id=5550004444, language_code="en")
    client_help = (await harness.send(client, "/help")).text
    assert "/overdose" in client_help and "/duty" not in client_help  # the client /help


async def test_start_for_staff_shows_their_desk_not_client_onboarding(
    harness: BotHarness,
) -> None:
    from tests.test_consultation import CONSULTANT

    await add_consultant(harness)
    desk = await harness.send(CONSULTANT, "/start")
    assert "Your desk" in desk.text and "Off duty" in desk.text
    assert "English" not in desk.labels  # no language picker
    await harness.send(CONSULTANT, "/duty on")

    first = FakeUser(id=5550007001, language_code="en")
    second = FakeUser(id=5550007002, language_code="en")
    await ask_about_ost(harness, first)
    await ask_about_ost(harness, second, urgent=True)
    await harness.send(CONSULTANT, "/take")  # the urgent one first
    desk = await harness.send(CONSULTANT, "/start")
    assert "On duty" in desk.text
    assert "Waiting for you: 1" in desk.text
    assert "Your conversations: 1" in desk.text
    assert "OST · 0 min" in desk.text and "🚨" in desk.text


async def counts(harness: BotHarness) -> dict[str, int]:
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model))
            for model in (Client, Conversation, Message, Outbox)
        }


async def test_the_practice_conversation_leaves_no_trace(harness: BotHarness) -> None:
    from tests.test_consultation import CONSULTANT

    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    before = await counts(harness)

    await harness.send(CONSULTANT, "/practice")
    shown = [m.text for m in harness.inbox(CONSULTANT.id)[-3:]]
    assert "Practice conversation" in shown[0]
    assert "Practice client" in shown[1] and "naloxone" in shown[2]

    replies = []
    for answer in ("Pharmacies and harm reduction services have it.", "Yes, often free.", "Call"):
        replies.append((await harness.send(CONSULTANT, answer)).text)
    assert "Practice client" in harness.inbox(CONSULTANT.id)[-2].text
    assert "Practice over" in replies[-1] and "/close" in replies[-1] and "🆘" in replies[-1]

    after = await counts(harness)
    assert after == before
    # Over: their next message is an ordinary one again (not sent anywhere, and said so).
    assert "not sent" in (await harness.send(CONSULTANT, "hello?")).text


async def test_practice_stops_on_request_and_a_real_conversation_wins(
    harness: BotHarness,
) -> None:
    from tests.test_consultation import CONSULTANT

    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    assert "not in a practice" in (await harness.send(CONSULTANT, "/practice stop")).text
    await harness.send(CONSULTANT, "/practice")

    client = FakeUser(id=5550007003, language_code="en")
    await ask_about_ost(harness, client)
    await harness.send(CONSULTANT, "/take")
    await harness.send(CONSULTANT, "Hello, I am here for you.")
    relayed = f"[copy of {CONSULTANT.id}/{harness.last_user_message_id()}]"
    assert harness.inbox(client.id)[-1].text == relayed  # to the real client, not the practice

    refused = await harness.send(CONSULTANT, "/practice")
    assert "quiet moments" in refused.text
    debrief = await harness.send(CONSULTANT, "/practice stop")
    assert "Practice over" in debrief.text


async def test_channel_admins_cannot_practise_consulting(harness: BotHarness) -> None:
    await add_consultant(harness, OLENA, display_name="Olena", role="channel_admin")
    refused = await harness.send(OLENA, "/practice")
    assert "Channel admins write posts" in refused.text
