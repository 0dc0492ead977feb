"""The front door (issue 8): one dispatcher decides what a plain message means; inputs lapse
and are closed by a take, /start and /cancel (and the person is told); the permissions table
is enforced for every command and button. Offline, through Application.process_update."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot import awaiting
from bot.models import Client, Staff
from bot.services import post_drafts, post_schedule, posts
from tests.harness import BOT_USER, BotHarness, FakeUser
from tests.test_client_journey import onboard
from tests.test_consultation import ask_about_ost, name_of
from tests.test_posts import add_member

ADMIN = FakeUser(id=5550009101, first_name="Olena", username="olena_both", language_code="en")
CLIENT = FakeUser(id=5550009102, first_name="Ksenia", username="ksenia_x", language_code="en")
SAFE = "Hello, I am here. Are you safe right now?"


async def admin_on_duty(harness: BotHarness) -> None:
    """An admin: writes posts and also takes conversations."""
    await add_member(harness, ADMIN, role="admin", name="Olena")
    assert "on duty" in (await harness.send(ADMIN, "/duty on")).text


async def start_post_text(harness: BotHarness) -> int:
    """/post, then "✏️ RU": the next message would be the post's RU text."""
    editor = await harness.send(ADMIN, "/post")
    post_id = int(re.search(r"#(\d+)", editor.text).group(1))
    await harness.press(ADMIN, "✏️ RU", editor)
    return post_id


def client_texts(harness: BotHarness) -> list[str]:
    return [m.text for m in harness.inbox(CLIENT.id)]


async def say(harness: BotHarness, text: str) -> str:
    """The admin writes; what the client's chat would show if it reached them (a copy)."""
    await harness.send(ADMIN, text)
    return f"[copy of {ADMIN.id}/{harness.last_user_message_id()}]"


async def ru_version(harness: BotHarness, post_id: int) -> str | None:
    async with harness.app.bot_data.runtime.transaction() as session:
        view = await posts.get(session, post_id)
    assert view is not None
    version = view.versions.get("ru")
    return version.text if version else None


async def test_a_half_written_post_never_swallows_an_answer_to_a_client(
    harness: BotHarness,
) -> None:
    await admin_on_duty(harness)
    post_id = await start_post_text(harness)
    await ask_about_ost(harness, CLIENT)
    took = await harness.send(ADMIN, "/take")
    assert "You took" in took.text
    said = [m.text for m in harness.inbox(ADMIN.id)]
    assert f"Closed without saving: the RU text of post #{post_id}." in said
    assert await say(harness, SAFE) in client_texts(harness)
    assert await ru_version(harness, post_id) is None


async def test_an_input_started_while_holding_a_conversation_is_asked_about(
    harness: BotHarness,
) -> None:
    await admin_on_duty(harness)
    await ask_about_ost(harness, CLIENT)
    await harness.send(ADMIN, "/take")
    post_id = await start_post_text(harness)
    copy = await say(harness, "Налоксон спасает жизни.")
    question = harness.screen(ADMIN)
    assert question.text.startswith("Not sent yet. Who is this message for?")
    assert copy not in client_texts(harness)
    # The post's text: saved as the RU version, and nothing reaches the client.
    await harness.press(ADMIN, f"✏️ the RU text of post #{post_id}", question)
    assert await ru_version(harness, post_id) == "Налоксон спасает жизни."
    assert copy not in client_texts(harness)
    # With no input left, the next words go to the client.
    assert await say(harness, SAFE) in client_texts(harness)


async def test_the_client_can_be_chosen_as_the_one_a_message_is_for(harness: BotHarness) -> None:
    await admin_on_duty(harness)
    await ask_about_ost(harness, CLIENT)
    await harness.send(ADMIN, "/take")
    post_id = await start_post_text(harness)
    copy = await say(harness, SAFE)
    question = harness.screen(ADMIN)
    assert copy not in client_texts(harness)
    target = next(label for label in question.labels if label.startswith("→ "))
    done = await harness.press(ADMIN, target, question)
    assert done.text.startswith("Sent to ")
    assert copy in client_texts(harness)
    assert await ru_version(harness, post_id) is None


async def test_a_lapsed_input_is_closed_and_the_person_is_told(harness: BotHarness) -> None:
    await add_member(harness, ADMIN, role="channel_admin", name="Olena")
    post_id = await start_post_text(harness)
    async with harness.app.bot_data.runtime.transaction() as session:
        await session.execute(
            update(Staff).values(awaiting_until=datetime.now(UTC) - timedelta(minutes=1))
        )
    await harness.send(ADMIN, "Налоксон спасает жизни.")
    said = [m.text for m in harness.inbox(ADMIN.id)]
    assert (
        f"You did not finish the RU text of post #{post_id} in time, so it was closed. "
        "This message was not used for it."
    ) in said
    assert await ru_version(harness, post_id) is None
    async with harness.app.bot_data.runtime.transaction() as session:
        assert await session.scalar(select(Staff.awaiting)) is None


async def test_cancel_and_start_close_a_client_input(harness: BotHarness) -> None:
    await onboard(harness, CLIENT, "en", "UA")
    await harness.send(CLIENT, "/settings")
    await harness.press(CLIENT, "Change city")
    async with harness.app.bot_data.runtime.transaction() as session:
        stored = await session.scalar(select(Client.awaiting))
    assert awaiting.decode(stored) == awaiting.CityName()
    assert (await harness.send(CLIENT, "/cancel")).text == "Closed without saving: your city."
    assert (await harness.send(CLIENT, "/cancel")).text == "Nothing to cancel."


async def test_every_input_kind_round_trips_and_garbage_is_dropped() -> None:
    values = [
        awaiting.CityName(),
        awaiting.StoryText(),
        awaiting.RatingComment(7),
        awaiting.AidDetails("food"),
        awaiting.PostText(12, "uk"),
        awaiting.PostEdit(12, "kk"),
        awaiting.PostUrl(3),
        awaiting.PostEvent(4),
        awaiting.PostWhen(5),
        awaiting.SurveyQuestion(6),
    ]
    for value in values:
        raw = awaiting.encode(value)
        assert len(raw) <= 32 and awaiting.decode(raw) == value
    for garbage in ("post_text:12", "post_text:x:ru", "hum:guns", "comment:99999999999", "??"):
        assert awaiting.decode(garbage) is None
    now = datetime.now(UTC)
    assert awaiting.current("city", now + timedelta(minutes=1), now) == (awaiting.CityName(), None)
    assert awaiting.current("city", now - timedelta(minutes=1), now) == (None, awaiting.CityName())
    assert awaiting.current("city", None, now) == (None, awaiting.CityName())


# --- The permissions table, walked: every action by every role ------------------------------

# A well-formed button of each kind (what a forged or stale press would carry).
BUTTONS = {
    "take": "1take:1",
    "close": "1close:1:information",
    "cur": "1cur:1",
    "for": "1for:i",
    "on": "1on:close:1",
    "xfr": "1xfr:1:peer",
    "xto": "1xto:1:2",
    "ref": "1ref:1:ost_site",
    "can": "1can:1",
    "tpc": "1tpc:ost",
    "chl": "1chl:1:ru",
    "pe": "1pe:1:show",
    "pp": "1pp:1:publish",
    "pl": "1pl:1:ru",
    "pb": "1pb:1:none",
    "pc": "1pc:1:2",
    "pls": "1pls:draft",
    "pf": "1pf:1:ru",
    "rdy": "1rdy:1:naloxone",
    "stv": "1stv:1:show",
    "svy": "1svy:1:show",
    "desk": "1desk:show",
    "join": "1join:1:in",
    "askhelp": "1askhelp:1",
    "care": "1care:off:0",
    "cso": "1cso:1",
    "cf": "1cf:1:show",
    "cv": "1cv:1:outcome:pending",
}
REFUSALS = {
    "This is for channel admins only.",
    "This is for admins only.",
    "Only supervisors and coordinators can do this.",
    "Channel admins write posts (/post) and take no conversations.",
    "This is for consultants only.",
}


async def test_every_action_by_every_role_is_allowed_exactly_where_the_table_says(
    harness: BotHarness,
) -> None:
    from bot import permissions
    from bot.callbacks import parse

    people: dict[permissions.Role, FakeUser] = {}
    for number, role in enumerate(permissions.Role):
        user = FakeUser(id=5550009200 + number, first_name="P", username=None, language_code="en")
        if role != permissions.Role.CLIENT:
            await add_member(harness, user, role=role.value, name=f"Staff{number}")
        people[role] = user
    assert set(BUTTONS) == {a[3:] for a in permissions.TABLE if a.startswith("cb:")}
    checked = 0
    for action, allowed_roles in permissions.TABLE.items():
        if action.startswith("in:") or action == "answer":
            continue  # typed inputs and answers: see the dispatcher tests
        for role, user in people.items():
            before = len(harness.telegram.calls)
            if action.startswith("cb:"):
                data = BUTTONS[action[3:]]
                assert parse(data) is not None, data
                await harness.press_data(user, data, harness.telegram.last.get(user.id))
            else:
                await harness.send(user, f"/{action}")
            said = {
                p.get("text")
                for name, p in harness.telegram.calls[before:]
                if name in ("sendMessage", "answerCallbackQuery", "editMessageText")
            }
            refused = bool(said & REFUSALS)
            assert refused == (role not in allowed_roles), (action, role.value, said)
            checked += 1
    assert checked >= 8 * 45


async def test_a_channel_admin_never_sees_a_client(harness: BotHarness) -> None:
    await add_member(harness, ADMIN, role="channel_admin", name="Olena")
    await ask_about_ost(harness, CLIENT)
    for command in ("/queue", "/take", "/topics", "/rota", "/cap 5", "/canned", "/history"):
        reply = await harness.send(ADMIN, command)
        assert reply.text == "Channel admins write posts (/post) and take no conversations."
    await harness.press_data(ADMIN, "1take:1", harness.screen(ADMIN))
    names = [await name_of(harness, CLIENT, language) for language in ("en", "ru", "uk", "kk")]
    seen = [m.text for m in harness.inbox(ADMIN.id)]
    assert not any("OST" in text or any(n in text for n in names) for text in seen)


# --- Use-case checks live in the services: no path can skip them ---------------------------


async def test_a_template_gap_is_refused_at_its_scheduled_time_too(harness: BotHarness) -> None:
    from bot import publishing
    from tests.test_posts import register_channels

    runtime = harness.app.bot_data.runtime
    author = await add_member(harness)  # the channels' admin in tests/test_posts.py
    await register_channels(harness)
    now = datetime.now(UTC)
    async with runtime.transaction() as session:
        post_id = await post_drafts.create(
            session,
            author_id=author,
            versions={"ru": "Опасная партия. Где: Казань."},
            ready_slug="dangerous_batch_alert",
        )
        await post_schedule.schedule(
            session,
            post_id,
            now + timedelta(hours=1),
            now=now,
            by=author,
            template_slugs=publishing.template_slugs(runtime),
        )
        # Edited after scheduling, with a gap left in.
        await post_drafts.set_version(
            session, post_id, "ru", kind="text", text="Опасная партия. Где: [ГОРОД].", file_id=None
        )
    assert await publishing.publish_due(runtime, now + timedelta(hours=2)) == 0
    async with runtime.transaction() as session:
        view = await posts.get(session, post_id)
    assert view is not None and view.status == posts.DRAFT
    assert not [m for m in harness.inbox(-1001000000001) if "ГОРОД" in m.text]


async def test_a_channel_admin_cannot_take_even_past_the_door(harness: BotHarness) -> None:
    import pytest

    from bot.services import queue

    member = await add_member(harness, ADMIN, role="channel_admin", name="Olena")
    await ask_about_ost(harness, CLIENT)
    async with harness.app.bot_data.runtime.transaction() as session:
        with pytest.raises(queue.NotAllowed):
            await queue.take(session, member)
        with pytest.raises(queue.NotAllowed):
            await queue.waiting_for(session, member)


async def test_the_delivery_worker_is_woken_by_any_commit_that_queued_a_message(
    harness: BotHarness,
) -> None:
    from bot.services import outbox

    runtime = harness.app.bot_data.runtime
    woken: list[int] = []
    runtime.outbox_ready = lambda: woken.append(1)
    params = {"text": "hi"}
    async with runtime.transaction() as session:
        await outbox.enqueue(
            session,
            runtime.keys,
            chat_ref=b"x",
            recipient="client:1",
            method="sendMessage",
            params=params,
        )
        assert woken == []  # not before the rows are visible to the worker
    assert woken == [1]
    async with runtime.transaction() as session:
        await session.scalar(select(Client.id))
    assert woken == [1]  # a commit that queued nothing wakes nobody
    try:
        async with runtime.transaction() as session:
            await outbox.enqueue(
                session,
                runtime.keys,
                chat_ref=b"x",
                recipient="client:1",
                method="sendMessage",
                params=params,
            )
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    async with runtime.transaction() as session:
        await session.scalar(select(Client.id))
    assert woken == [1]  # rolled back: nothing to deliver


# --- Issue 12: a client is only ever reached in their private chat ---------------------------

STAFF_FORUM = {"id": -1001234567890, "type": "supergroup", "title": "Staff", "is_forum": True}


async def press_in_group(harness: BotHarness, user: FakeUser, data: str) -> list[dict]:
    """`user` presses a button with `data` on a bot message in the staff forum; the answers."""
    before = len(harness.telegram.calls)
    message = {"message_id": 77, "date": 1, "chat": STAFF_FORUM, "text": "Menu", "from": BOT_USER}
    query = {"id": f"g-{data}", "chat_instance": "ci", "from": user.as_dict(), "data": data}
    await harness.feed({"callback_query": {**query, "message": message}})
    return [p for name, p in harness.telegram.calls[before:] if name == "answerCallbackQuery"]


async def client_chats(harness: BotHarness) -> list[int]:
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        refs = list(await session.scalars(select(Client.chat_ref)))
    return [runtime.keys.decrypt_chat_id(ref) for ref in refs]


async def test_a_first_contact_by_a_button_in_a_group_never_ties_the_client_to_it(
    harness: BotHarness,
) -> None:
    """Before: the client row was made at that first press with the group as its chat, so the
    person's later consultation was relayed into the staff forum."""
    newcomer = FakeUser(id=5550009301, first_name="Nika", username="nika_x", language_code="en")
    for data in ("1menu:main", "1lang:en", "1ask:general"):
        answers = await press_in_group(harness, newcomer, data)
        assert [a.get("text") for a in answers] == [
            "Please use this in your private chat with me."
        ], data
    assert [a.get("text") for a in await press_in_group(harness, newcomer, "junk")] == [
        "This button is out of date."
    ]
    assert await client_chats(harness) == []  # nothing stored from the group
    sent = [p for name, p in harness.telegram.calls if name in ("sendMessage", "editMessageText")]
    assert all(int(p["chat_id"]) != STAFF_FORUM["id"] for p in sent)

    await admin_on_duty(harness)
    await ask_about_ost(harness, newcomer)
    assert await client_chats(harness) == [newcomer.id]
    notice = harness.screen(ADMIN)
    await harness.press(ADMIN, "Take it", notice)
    await harness.send(ADMIN, SAFE)
    assert harness.screen(newcomer).text.startswith(f"[copy of {ADMIN.id}/")


async def test_a_client_stored_with_a_group_as_their_chat_is_put_right_when_they_write(
    harness: BotHarness,
) -> None:
    """Rows written before the fix hold a group's id: the next update from the person's
    private chat (whose id is their user id) re-encrypts it."""
    await onboard(harness, CLIENT, "en")
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        await session.execute(
            update(Client).values(chat_ref=runtime.keys.encrypt_chat_id(STAFF_FORUM["id"]))
        )
    assert await client_chats(harness) == [STAFF_FORUM["id"]]
    await harness.send(CLIENT, "/menu")
    assert await client_chats(harness) == [CLIENT.id]
    # A group never repairs it the other way.
    await press_in_group(harness, CLIENT, "1menu:main")
    assert await client_chats(harness) == [CLIENT.id]
