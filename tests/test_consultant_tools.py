"""Consultant tools, offline: /note, /transfer (to a role, to a colleague) and /refer."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.models import Conversation, Message, Service
from bot.services import directory, staff, staff_duty
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard
from tests.test_consultation import add_consultant, name_of

ANNA = FakeUser(id=9200000001, first_name="Anna", username="anna_peer", language_code="en")
OLEH = FakeUser(id=9200000002, first_name="Oleh", username="oleh_peer", language_code="en")
LENA = FakeUser(id=9200000003, first_name="Lena", username="lena_law", language_code="en")
CLIENT = FakeUser(id=5560000001, first_name="Ksenia", username="ksenia_q", language_code="en")


@pytest.fixture
async def team(harness: BotHarness) -> BotHarness:
    """On duty, all English: Anna and Oleh (peers), Lena (lawyer, legal only)."""
    await add_consultant(harness, ANNA, display_name="Anna")
    await add_consultant(harness, OLEH, display_name="Oleh")
    await add_consultant(harness, LENA, display_name="Lena", role="lawyer", topics=["legal"])
    for member in (ANNA, OLEH, LENA):
        await harness.send(member, "/duty on")
    return harness


async def ask_a_human(
    harness: BotHarness, client: FakeUser = CLIENT, language: str = "en", country: str = "UA"
) -> None:
    await onboard(harness, client, language, country)
    await harness.send(client, "/menu")
    await harness.press_data(client, "1menu:ost")
    await harness.press_data(client, "1ask:ost")
    await harness.press_data(client, "1urg:ost:0")


async def anna_talks_to_the_client(harness: BotHarness, **kwargs) -> None:  # type: ignore[no-untyped-def]
    await ask_a_human(harness, **kwargs)
    await harness.send(CLIENT, "I need methadone, where do I go?")
    await harness.send(ANNA, "/take")
    assert any("You took" in text for text in texts_to(harness, ANNA))


def texts_to(harness: BotHarness, user: FakeUser) -> list[str]:
    """Every message the bot sent to this chat, oldest first, as the chat shows it now."""
    return [message.text for message in harness.inbox(user.id)]


def first_index(texts: list[str], needle: str) -> int:
    return next(i for i, text in enumerate(texts) if needle in text)


# --- /note ---------------------------------------------------------------------------------


async def test_a_note_is_stored_encrypted_and_never_sent_to_the_client(
    team: BotHarness, session_factory
) -> None:
    await anna_talks_to_the_client(team)
    before = len(texts_to(team, CLIENT))

    saved = await team.send(ANNA, "/note Needs a lawyer in Kyiv, speaks slowly")

    assert "Note saved" in saved.text and await name_of(team, CLIENT) in saved.text
    assert texts_to(team, CLIENT)[before:] == []
    assert not any("Needs a lawyer" in text for text in texts_to(team, CLIENT))
    async with session_factory() as session:
        note = await session.scalar(select(Message).where(Message.author == "note"))
    assert note is not None and note.staff_id is not None
    assert b"Needs a lawyer" not in note.body


async def test_note_without_text_or_conversation_is_explained(team: BotHarness) -> None:
    assert "/note" in (await team.send(ANNA, "/note")).text
    assert "no open conversation" in (await team.send(ANNA, "/note hello")).text


async def test_with_two_conversations_the_note_asks_which_and_goes_there(
    team: BotHarness, session_factory
) -> None:
    # Before issue 10 the last one taken was "current" and got the note without asking.
    await anna_talks_to_the_client(team)
    second = FakeUser(id=5560000002, language_code="en")
    await ask_a_human(team, second)
    await team.send(ANNA, "/take")
    which = await team.send(ANNA, "/note for the second one")
    assert "Which conversation?" in which.text and len(which.labels) == 2
    name = await name_of(team, second)
    chosen = await team.press(ANNA, next(x for x in which.labels if name in x), which)
    assert chosen.text.startswith(f"Note saved for {name}.")
    async with session_factory() as session:
        notes = list(await session.scalars(select(Message).where(Message.author == "note")))
        second_id = await session.scalar(select(func.max(Conversation.id)))
    assert [note.conversation_id for note in notes] == [second_id]


async def test_the_next_taker_sees_the_notes_before_the_clients_messages(
    team: BotHarness,
) -> None:
    await anna_talks_to_the_client(team)
    await team.send(ANNA, "/note Needs a lawyer in Kyiv")
    assert "back in the queue" in (await team.send(ANNA, "/release")).text
    await team.send(OLEH, "/take")

    seen = texts_to(team, OLEH)
    note = first_index(seen, "Needs a lawyer in Kyiv")
    assert "Note from Anna" in seen[note]
    assert note < first_index(seen, "I need methadone")


# --- /transfer -----------------------------------------------------------------------------


async def test_transfer_offers_roles_and_colleagues_on_duty_in_the_clients_language(
    team: BotHarness,
) -> None:
    kk_only = FakeUser(id=9200000004, language_code="en")
    await add_consultant(team, kk_only, display_name="Aigerim", languages=["kk"])
    await team.send(kk_only, "/duty on")
    await anna_talks_to_the_client(team)

    offer = await team.send(ANNA, "/transfer")

    # Every role, then the colleagues on duty who write Russian: not Anna, not Aigerim (kk).
    assert offer.labels == [
        "→ lawyer",
        "→ psychologist",
        "→ medic",
        "→ peer consultant",
        "👤 Oleh (peer consultant)",
        "👤 Lena (lawyer)",
    ]


async def test_transfer_to_a_lawyer_only_a_lawyer_can_take_it(
    team: BotHarness, session_factory
) -> None:
    await anna_talks_to_the_client(team)
    offer = await team.send(ANNA, "/transfer")
    done = await team.press(ANNA, "→ lawyer", offer)

    assert "back in the queue" in done.text and "lawyer" in done.text
    told = team.screen(CLIENT).text
    assert "handed your request to a colleague (lawyer)" in told
    assert "Nothing to take" in (await team.send(OLEH, "/take")).text
    assert "Nobody is waiting" in (await team.send(OLEH, "/queue")).text
    notice = team.screen(LENA)  # lawyers on duty in the language are told (topic aside)
    assert "New request" in notice.text

    await team.press(LENA, "Take it", notice)

    assert any("I need methadone" in text for text in texts_to(team, LENA))
    assert "Lena" in team.screen(CLIENT).text  # "Lena (lawyer) is now with you"
    async with session_factory() as session:
        row = await session.scalar(select(Conversation))
    assert (row.status, row.wanted_role) == ("active", None)


async def test_transfer_to_a_colleague_tells_the_client_and_gives_them_the_notes(
    team: BotHarness,
) -> None:
    await anna_talks_to_the_client(team)
    await team.send(ANNA, "/note Wants a clinic near the station")
    offer = await team.send(ANNA, "/transfer")

    done = await team.press(ANNA, "👤 Oleh (peer consultant)", offer)

    assert "now with Oleh" in done.text
    told = team.screen(CLIENT).text
    assert "Oleh" in told and "peer consultant" in told and "continues" in told
    seen = texts_to(team, OLEH)
    handed = first_index(seen, "Anna handed a conversation over to you")
    note = first_index(seen, "Wants a clinic near the station")
    assert "Note from Anna" in seen[note]
    assert handed < note < first_index(seen, "I need methadone")

    await team.send(OLEH, "Hello, I am Oleh. Which city are you in?")
    assert team.screen(CLIENT).text.startswith(f"[copy of {OLEH.id}/")
    late = await team.send(ANNA, "are you still there?")
    assert "no open conversation" in late.text  # Anna's messages no longer reach the client


async def test_transfer_to_a_busy_colleague_says_he_holds_two_and_asks_who_it_is_for(
    team: BotHarness,
) -> None:
    # Before issue 10 this offered a "Write to …" button that switched his current client.
    other = FakeUser(id=5560000003, language_code="en")
    await ask_a_human(team, other)
    await team.send(OLEH, "/take")  # Oleh is in a conversation of his own
    await anna_talks_to_the_client(team)

    await team.press(ANNA, "👤 Oleh (peer consultant)", await team.send(ANNA, "/transfer"))

    handed = next(m for m in team.inbox(OLEH.id) if "handed a conversation" in m.text)
    assert "You hold 2 conversations" in handed.text and not handed.labels
    asked = await team.send(OLEH, "Hi from Oleh")
    name = await name_of(team, CLIENT)
    await team.press(OLEH, next(label for label in asked.labels if name in label), asked)
    assert team.screen(CLIENT).text.startswith(f"[copy of {OLEH.id}/")
    assert not any(m.text.startswith(f"[copy of {OLEH.id}/") for m in team.inbox(other.id))


async def test_transfer_to_a_colleague_who_is_off_duty_or_full_is_refused(
    team: BotHarness,
) -> None:
    await anna_talks_to_the_client(team)
    offer = await team.send(ANNA, "/transfer")
    await team.send(OLEH, "/duty off")

    refused = await team.press(ANNA, "👤 Oleh (peer consultant)", offer)

    assert "not on duty" in refused.text
    await team.send(OLEH, "/duty on")
    runtime = team.app.bot_data.runtime
    async with runtime.transaction() as session:
        oleh = await staff.find_by_telegram(session, runtime.keys, OLEH.id)
        await staff_duty.set_profile(session, oleh.id, max_active=1)  # type: ignore[union-attr]
    await ask_a_human(team, FakeUser(id=5560000004, language_code="en"))
    await team.send(OLEH, "/take")

    full = await team.press(ANNA, "👤 Oleh (peer consultant)", offer)

    assert "no room" in full.text
    await team.send(ANNA, "still with you")  # Anna still holds the conversation
    assert texts_to(team, CLIENT)[-1].startswith(f"[copy of {ANNA.id}/")


# --- /refer --------------------------------------------------------------------------------


async def add_shelters(session_factory) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as session, session.begin():
        for slug, name, city, verified in (
            ("t-alpha", "Alpha shelter", None, True),
            ("t-beta", "Beta shelter", None, False),
            ("t-delta", "Delta shelter", "kyiv", True),
            ("t-omega", "Omega shelter", "lviv", True),
        ):
            session.add(
                Service(
                    slug=slug,
                    type="shelter",
                    country="UA",
                    city=city,
                    name=name,
                    phone="0 800 000 000",
                    verified=verified,
                )
            )


async def test_refer_sends_three_cards_in_the_clients_language_and_is_recorded(
    team: BotHarness, session_factory
) -> None:
    # Taras reads the bot in Russian (his first language); the client reads Ukrainian.
    taras = FakeUser(id=9200000005, first_name="Taras", language_code="ru")
    await add_consultant(team, taras, display_name="Taras", languages=["ru", "uk"])
    await team.send(taras, "/duty on")
    await add_shelters(session_factory)
    await ask_a_human(team, language="uk")
    await team.send(taras, "/take")
    runtime = team.app.bot_data.runtime
    async with session_factory() as session:
        expected = await directory.find_services(
            session, service_type="shelter", country="UA", limit=3
        )
    assert [s.name for s in expected.items] == ["Alpha shelter", "Beta shelter", "Delta shelter"]

    offer = await team.send(taras, "/refer")

    label = runtime.content.button("svc_shelter", "ru") + " (4)"  # "Приюты (4)"
    assert label in offer.labels
    done = await team.press(taras, label, offer)

    assert "Alpha shelter" in done.text
    card = team.screen(CLIENT).text
    assert runtime.content.button("svc_shelter", "uk") in card  # "Притулки"
    assert runtime.content.button("svc_shelter", "ru") not in card
    for name in ("Alpha shelter", "Beta shelter", "Delta shelter"):
        assert name in card
    assert "Omega shelter" not in card
    assert "Київ" in card  # city names in the client's language
    assert "не перевірено" in card  # and the "not verified" mark
    sent = [
        p
        for n, p in team.telegram.calls
        if n == "sendMessage" and str(p.get("chat_id")) == str(CLIENT.id)
    ][-1]
    assert sent.get("protect_content") is True

    outcome = await team.send(taras, "/close")
    buttons = [b["callback_data"] for row in outcome.buttons for b in row]
    await team.press_data(taras, next(d for d in buttons if d.endswith(":referred")), outcome)
    async with session_factory() as session:
        row = await session.scalar(select(Conversation))
    assert (row.status, row.outcome, row.outcome_detail) == ("closed", "referred", "shelter")


async def test_refer_offers_only_types_known_in_the_clients_country(team: BotHarness) -> None:
    await anna_talks_to_the_client(team, country="KZ")

    offer = await team.send(ANNA, "/refer")

    # The seed has an AIDS centre and NGOs in Kazakhstan, no OST site and no shelter.
    assert any(label.startswith("AIDS centres") for label in offer.labels)
    assert not any(label.startswith(("Shelters", "OST sites")) for label in offer.labels)


async def test_a_forged_refer_or_transfer_button_changes_nothing(
    team: BotHarness, session_factory
) -> None:
    await anna_talks_to_the_client(team)
    async with session_factory() as session:
        conversation_id = await session.scalar(select(Conversation.id))
    for data in (f"1ref:{conversation_id}:wizardry", f"1xfr:{conversation_id + 1}:lawyer"):
        await team.press_data(OLEH, data)
    await team.press_data(OLEH, f"1xfr:{conversation_id}:lawyer")  # not Oleh's
    await team.press_data(OLEH, f"1xto:{conversation_id}:1")
    async with session_factory() as session:
        row = await session.scalar(select(Conversation))
    assert (row.status, row.wanted_role, row.outcome_detail) == ("active", None, None)


# --- Not for clients -----------------------------------------------------------------------


async def test_non_staff_are_refused(team: BotHarness) -> None:
    await ask_a_human(team)
    for command in ("/note hello", "/transfer", "/refer"):
        reply = await team.send(CLIENT, command)
        assert "for consultants only" in reply.text, command
    for data in ("1xfr:1:lawyer", "1xto:1:1", "1ref:1:shelter"):
        before = len(team.telegram.calls)
        await team.press_data(CLIENT, data)
        answers = [p for n, p in team.telegram.calls[before:] if n == "answerCallbackQuery"]
        assert answers and "for consultants only" in answers[0].get("text", ""), data
