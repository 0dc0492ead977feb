"""Supervisors' live desk and care for consultants (issue 10), offline: a busy evening with two
consultants and three clients; a supervisor reads along silently, whispers, takes over; the
consultants can call for help, get a debrief after an urgent conversation and a rest reminder.
The client's chat is checked to learn nothing of any of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot import staff_care
from bot.models import SilentJoin, Staff
from bot.services import clients, pseudonyms, queue
from tests.harness import BotHarness, FakeTelegram, FakeUser, Sent
from tests.test_consultation import add_consultant, ask_about_ost

ANNA = FakeUser(id=9100000101, first_name="Anna", username="anna_peer", language_code="en")
OLEH = FakeUser(id=9100000102, first_name="Oleh", username="oleh_peer", language_code="en")
SVETA = FakeUser(id=9100000103, first_name="Sveta", username="sveta_sup", language_code="en")
KSENIA = FakeUser(id=5550031001, first_name="Ksenia", username="ksenia_x", language_code="en")
MARAT = FakeUser(id=5550031002, first_name="Marat", username="marat_x", language_code="en")
DINA = FakeUser(id=5550031003, first_name="Dina", username="dina_x", language_code="en")


async def pseudonym(harness: BotHarness, user: FakeUser) -> str:
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        client = await clients.get(session, runtime.keys.client_key(user.id))
        assert client is not None
        conversation = await queue.open_for_client(session, client.id)
    assert conversation is not None and conversation.pseudonym
    # As staff read it in English (bot/services/pseudonyms.py), e.g. "Blue Fox 42".
    return pseudonyms.render(conversation.pseudonym, "en")


async def evening(harness: BotHarness, *, urgent: bool = False) -> dict[str, str]:
    """Anna and Oleh on duty, Sveta (a supervisor) off duty; Ksenia's conversation is
    Anna's, Marat's is Oleh's, Dina waits. Pseudonyms by client name."""
    await add_consultant(harness, ANNA, display_name="Anna")
    await add_consultant(harness, OLEH, display_name="Oleh")
    await add_consultant(harness, SVETA, display_name="Sveta", role="supervisor")
    await harness.send(ANNA, "/duty on")
    await harness.send(OLEH, "/duty on")
    await ask_about_ost(harness, KSENIA, urgent=urgent)
    await ask_about_ost(harness, MARAT)
    await ask_about_ost(harness, DINA)
    assert "You took" in (await harness.send(ANNA, "/take")).text
    assert "You took" in (await harness.send(OLEH, "/take")).text
    return {u.first_name: await pseudonym(harness, u) for u in (KSENIA, MARAT, DINA)}


def calls_to(harness: BotHarness, chat_id: int, since: int = 0) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, params)
        for name, params in harness.telegram.calls[since:]
        if str(params.get("chat_id")) == str(chat_id)
    ]


async def reply(harness: BotHarness, user: FakeUser, text: str, to: Sent) -> Sent:
    content: dict[str, Any] = {"text": text, "reply_to_message": FakeTelegram._message(to)}
    if text.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return await harness.send_other(user, **content)


async def join(harness: BotHarness, who: str) -> Sent:
    desk = await harness.send(SVETA, "/desk")
    return await harness.press(SVETA, f"👁 Join {who}", desk)


def last_containing(harness: BotHarness, user: FakeUser, words: str) -> Sent:
    found = [m for m in harness.inbox(user.id) if words in m.text]
    assert found, f"nothing with {words!r} in {[m.text for m in harness.inbox(user.id)]}"
    return found[-1]


async def test_desk_shows_the_whole_evening_on_one_screen(harness: BotHarness) -> None:
    names = await evening(harness)
    desk = await harness.send(SVETA, "/desk")
    assert "Waiting: 1, the longest for 0 min" in desk.text
    assert "On duty: Anna, Oleh" in desk.text
    assert f"<b>Anna</b>: {names['Ksenia']} · OST · en · 0 min" in desk.text
    assert f"<b>Oleh</b>: {names['Marat']} · OST · en · 0 min" in desk.text
    assert names["Dina"] not in desk.text  # waiting: counted, not named
    assert desk.labels == [
        f"👁 Join {names['Ksenia']}",
        f"👁 Join {names['Marat']}",
        "🔄 Refresh",
    ]
    for secret in ("Ksenia", "ksenia_x", str(KSENIA.id), "Marat", "Dina"):
        assert secret not in desk.text
    await harness.send(OLEH, "/duty off")
    refreshed = await harness.press(SVETA, "🔄 Refresh", desk)
    assert "On duty: Anna\n" in refreshed.text


async def test_a_peer_is_refused_the_desk_and_its_buttons(harness: BotHarness) -> None:
    names = await evening(harness)
    for command in ("/desk", "/whisper hello"):
        refused = await harness.send(ANNA, command)
        assert refused.text == "Only supervisors and coordinators can do this.", command
    before = len(harness.telegram.calls)
    await harness.press_data(ANNA, "1join:1:in")
    answers = [p for n, p in harness.telegram.calls[before:] if n == "answerCallbackQuery"]
    assert answers and "Only supervisors" in answers[0]["text"]
    async with harness.app.bot_data.runtime.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(SilentJoin)) == 0
    assert names  # the evening went on


async def test_silent_join_sees_both_ways_and_the_client_never_learns(
    harness: BotHarness,
) -> None:
    names = await evening(harness)
    client_calls = len(harness.telegram.calls)
    joined = await join(harness, names["Ksenia"])
    assert f"reading along with {names['Ksenia']}" in joined.text and "Anna" in joined.text
    assert joined.labels == ["Take it over", "Leave"]

    await harness.send(KSENIA, "I took too much, I am scared")
    copy = last_containing(harness, SVETA, "I took too much")
    assert copy.text.startswith(f"👁 <i>silent copy</i> · <b>{names['Ksenia']}</b> → Anna")
    await harness.send(ANNA, "Are you safe right now? Is someone with you?")
    answer = last_containing(harness, SVETA, "Are you safe right now")
    assert answer.text.startswith(f"👁 <i>silent copy</i> · <b>Anna</b> → {names['Ksenia']}")
    # Marat's conversation is not Sveta's to read.
    await harness.send(MARAT, "question about the pharmacy")
    assert not [m for m in harness.inbox(SVETA.id) if "pharmacy" in m.text]

    # The client saw Anna's answer (a copy, no sender) and nothing else at all.
    to_client = calls_to(harness, KSENIA.id, client_calls)
    assert [name for name, _ in to_client] == ["copyMessage"]
    assert int(to_client[0][1]["from_chat_id"]) == ANNA.id
    everything = " ".join(str(p) for _, p in calls_to(harness, KSENIA.id))
    assert "Sveta" not in everything and "supervisor" not in everything.lower()
    # Copies to the supervisor are protected, like every copy of a client's words.
    to_sveta = [p for n, p in calls_to(harness, SVETA.id) if "silent copy" in p.get("text", "")]
    assert to_sveta and all(p.get("protect_content") for p in to_sveta)

    left = await harness.press(SVETA, "Leave", joined)
    assert "You have left" in left.text
    await harness.send(KSENIA, "still here")
    assert not [m for m in harness.inbox(SVETA.id) if "still here" in m.text]


async def test_a_whisper_reaches_only_the_consultant_and_their_reply_only_the_supervisor(
    harness: BotHarness,
) -> None:
    names = await evening(harness)
    await join(harness, names["Ksenia"])
    await harness.send(KSENIA, "I do not want to live like this")
    copy = last_containing(harness, SVETA, "I do not want to live")
    client_calls = len(harness.telegram.calls)

    said = await reply(harness, SVETA, "Ask her gently about suicidal thoughts.", copy)
    assert said.text == "🤫 Whispered to Anna only."
    whisper = last_containing(harness, ANNA, "Ask her gently")
    assert whisper.text.startswith(
        f"🤫 <b>Sveta</b>, only to you, about {names['Ksenia']} (reply to answer):"
    )
    await reply(harness, ANNA, "Thank you, doing it now.", whisper)
    back = last_containing(harness, SVETA, "Thank you, doing it now.")
    assert back.text.startswith("🤫 <b>Anna</b>, only to you")
    await harness.send(SVETA, "/whisper You are doing well.")
    assert "You are doing well." in harness.screen(ANNA).text
    assert calls_to(harness, KSENIA.id, client_calls) == []
    assert calls_to(harness, MARAT.id, client_calls) == []
    # Oleh heard nothing of it either.
    assert not [m for m in harness.inbox(OLEH.id) if "🤫" in m.text]


async def test_take_over_transfers_the_conversation_and_tells_the_consultant(
    harness: BotHarness,
) -> None:
    names = await evening(harness)
    joined = await join(harness, names["Ksenia"])
    took = await harness.press(SVETA, "Take it over", joined)
    assert took.text.startswith(f"You have taken over {names['Ksenia']}.")
    told = last_containing(harness, ANNA, "has taken over")
    assert "Sveta" in told.text and "Thank you" in told.text
    assert "continues this conversation with you" in harness.screen(KSENIA).text

    before = len(harness.telegram.calls)
    await harness.send(SVETA, "Hello, I am here with you now.")
    copies = [p for n, p in calls_to(harness, KSENIA.id, before) if n == "copyMessage"]
    assert len(copies) == 1 and int(copies[0]["from_chat_id"]) == SVETA.id
    await harness.send(KSENIA, "thank you")
    assert (
        "thank you" in harness.screen(SVETA).text
        and "silent copy" not in harness.screen(SVETA).text
    )
    before = len(harness.telegram.calls)
    await harness.send(ANNA, "is it still mine?")
    assert calls_to(harness, KSENIA.id, before) == []


async def test_a_join_ends_when_the_conversation_closes(harness: BotHarness) -> None:
    names = await evening(harness)
    await join(harness, names["Marat"])
    outcome = await harness.send(OLEH, "/close")
    await harness.press(OLEH, "information given", outcome)
    runtime = harness.app.bot_data.runtime
    assert await staff_care.end_silent_joins(runtime) == 1
    await harness.deliver()
    assert "is no longer open to read along" in harness.screen(SVETA).text
    assert names["Marat"] in harness.screen(SVETA).text
    assert await staff_care.end_silent_joins(runtime) == 0


async def test_ask_a_supervisor_is_one_tap_and_pings_the_supervisors(
    harness: BotHarness,
) -> None:
    names = await evening(harness)
    took = [m for m in harness.inbox(ANNA.id) if m.text.startswith("You took")][-1]
    assert took.labels == ["🆘 Ask a supervisor"]
    said = await harness.press(ANNA, "🆘 Ask a supervisor", took)
    assert "A supervisor has been asked" in said.text
    ping = harness.screen(SVETA)
    assert ping.text.startswith("🆘 <b>Anna</b> asks for a supervisor in a conversation:")
    assert f"{names['Ksenia']} · OST" in ping.text
    assert not [m for m in harness.inbox(OLEH.id) if "asks for a supervisor" in m.text]
    joined = await harness.press(SVETA, "👁 Join silently", ping)
    assert "reading along" in joined.text
    await reply(harness, SVETA, "I am here, I am reading with you.", ping)
    assert "I am here, I am reading with you." in harness.screen(ANNA).text
    # /help_me does the same; a supervisor on duty is asked before the others.
    other = FakeUser(id=9100000104, first_name="Gulnar", language_code="en")
    await add_consultant(harness, other, display_name="Gulnar", role="admin")
    await harness.send(other, "/duty on")
    before = len(harness.telegram.calls)
    await harness.send(ANNA, "/help_me")
    assert calls_to(harness, SVETA.id, before) == []
    assert "asks for a supervisor" in harness.screen(other).text


async def test_debrief_after_an_urgent_conversation_closes(harness: BotHarness) -> None:
    names = await evening(harness, urgent=True)
    runtime = harness.app.bot_data.runtime
    assert await staff_care.offer_debriefs(runtime) == 0  # still open
    outcome = await harness.send(ANNA, "/close")
    await harness.press(ANNA, "information given", outcome)
    closing = await harness.send(OLEH, "/close")  # not urgent: no debrief
    await harness.press(OLEH, "information given", closing)
    assert await staff_care.offer_debriefs(runtime) == 1
    await harness.deliver()
    debrief = harness.screen(ANNA)
    assert f"The urgent conversation with {names['Ksenia']} has ended" in debrief.text
    assert debrief.labels == [
        "💬 Talk to a supervisor",
        "☕ Take a break (15 min)",
        "🌙 Go off duty",
    ]
    assert not [m for m in harness.inbox(OLEH.id) if "💛" in m.text]
    assert await staff_care.offer_debriefs(runtime) == 0  # once

    talked = await harness.press(ANNA, "💬 Talk to a supervisor", debrief)
    assert "asked to get in touch with you" in talked.text
    assert "would like to talk after an urgent conversation" in harness.screen(SVETA).text
    await reply(harness, SVETA, "Call me when you can.", harness.screen(SVETA))
    assert "Call me when you can." in harness.screen(ANNA).text

    pause = await harness.press(ANNA, "☕ Take a break (15 min)", debrief)
    assert "You are off duty until" in pause.text
    async with runtime.transaction() as session:
        anna = await session.scalar(select(Staff).where(Staff.display_name == "Anna"))
        assert anna is not None and not anna.on_duty and anna.break_until is not None
        await session.execute(
            update(Staff)
            .where(Staff.id == anna.id)
            .values(break_until=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert await staff_care.duty_care(runtime) == 1
    await harness.deliver()
    assert "Your break is over" in harness.screen(ANNA).text
    assert "You are on duty" in (await harness.send(ANNA, "/duty on")).text
    off = await harness.press(ANNA, "🌙 Go off duty", debrief)
    assert "You are off duty" in off.text


async def test_the_rest_reminder_fires_once_per_shift(harness: BotHarness, settings) -> None:
    await evening(harness)
    runtime = harness.app.bot_data.runtime
    assert settings.duty_reminder_hours == 4
    assert await staff_care.duty_care(runtime) == 0

    async def shift_began(hours_ago: float) -> None:
        async with runtime.transaction() as session:
            await session.execute(
                update(Staff)
                .where(Staff.display_name == "Anna")
                .values(on_duty_since=datetime.now(UTC) - timedelta(hours=hours_ago))
            )

    await shift_began(5)
    assert await staff_care.duty_care(runtime) == 1
    await harness.deliver()
    reminder = harness.screen(ANNA)
    assert "You have been on duty for 5 h" in reminder.text
    assert reminder.labels == ["☕ Take a break (15 min)", "🌙 Go off duty"]
    assert not [m for m in harness.inbox(OLEH.id) if "on duty for" in m.text]
    await shift_began(6)
    assert await staff_care.duty_care(runtime) == 0  # once a shift
    # A new shift: off and on again, and four hours later a new reminder.
    await harness.send(ANNA, "/duty off")
    await harness.send(ANNA, "/duty on")
    assert await staff_care.duty_care(runtime) == 0
    await shift_began(4.5)
    assert await staff_care.duty_care(runtime) == 1
