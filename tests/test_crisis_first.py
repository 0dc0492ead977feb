"""Crisis first (issue 9): danger in a person's words, or the overdose button, gets
life-saving help in the first reply, whatever state they are in. Offline, through
Application.process_update."""

from __future__ import annotations

from sqlalchemy import select

from bot import awaiting
from bot.models import Client, Conversation
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost

NEW = FakeUser(id=5550007001, first_name="Lena", username="lena_new", language_code="ru")
CLIENT = FakeUser(id=5550007002, first_name="Ksenia", username="ksenia_k", language_code="en")

# Words of the first-aid screen that must be there without another tap, per language.
FIRST_AID = {
    "ru": ("налоксон", "дыш", "груд"),
    "en": ("naloxone", "breath", "chest"),
}


async def test_a_first_message_about_someone_not_breathing_gets_first_aid_at_once(
    harness: BotHarness,
) -> None:
    reply = await harness.send(NEW, "помогите друг не дышит")
    [first] = harness.inbox(NEW.id)
    assert first is reply  # the first-aid screen is the first message, and the only one
    text = first.text.lower()
    assert "103" in text and all(word in text for word in FIRST_AID["ru"])
    # Nothing was set up on the way, and "set up" comes after the help, not instead.
    assert "⚙️ Настроить бота" in first.labels
    async with harness.app.bot_data.runtime.transaction() as session:
        assert await session.scalar(select(Client.language)) is None


async def test_overdose_works_fully_before_onboarding(harness: BotHarness) -> None:
    screen = await harness.send(NEW, "/overdose")
    text = screen.text.lower()
    assert all(word in text for word in FIRST_AID["ru"]) and "103" in text and "112" in text
    assert "102" not in text  # no police number on the overdose path
    detail = screen.labels[0]
    opened = await harness.press(NEW, detail, screen)
    assert "Выберите язык" not in opened.text and opened.text != screen.text
    assert "‹ Назад" in opened.labels


async def test_every_screen_has_first_aid_one_tap_away(harness: BotHarness) -> None:
    await onboard(harness, CLIENT, "en", "UA")
    menu = await harness.send(CLIENT, "/menu")
    hiv = await harness.press_data(CLIENT, "1menu:hiv", menu)
    assert "🆘 Overdose" in hiv.labels
    first_aid = await harness.press(CLIENT, "🆘 Overdose", hiv)
    assert all(word in first_aid.text.lower() for word in FIRST_AID["en"])


async def test_danger_at_the_city_question_gets_help_and_the_question_stays(
    harness: BotHarness,
) -> None:
    await harness.send(NEW, "/start")
    for data in ("1lang:ru", "1priv:ok", "1ctry:RU"):
        await harness.press_data(NEW, data)
    reply = await harness.send(NEW, "передоз, человек синеет")
    assert "103" in reply.text and "не знаю этот город" not in reply.text.lower()
    async with harness.app.bot_data.runtime.transaction() as session:
        stored = await session.scalar(select(Client.awaiting))
    assert awaiting.decode(stored) == awaiting.CityName()


async def test_a_harm_reduction_question_is_not_an_emergency(harness: BotHarness) -> None:
    await onboard(harness, CLIENT, "en", "UA")
    reply = await harness.send(CLIENT, "how does naloxone work?")
    assert "I answer to buttons and commands" in reply.text


async def test_a_waiting_client_who_wants_to_die_gets_a_crisis_line_and_turns_urgent(
    harness: BotHarness,
) -> None:
    await add_consultant(harness)  # exists, but is not on duty
    queued = await ask_about_ost(harness, CLIENT)
    assert "Nobody is on duty" in queued.text
    await harness.send(CLIENT, "I feel so bad, I don't want to live anymore")
    texts = [m.text for m in harness.inbox(CLIENT.id)]
    help_screen = next(t for t in texts if "7333" in t)  # Ukraine's Lifeline
    assert texts.index(help_screen) < texts.index(
        "Added to your request. The consultant will see it when they take it."
    )
    async with harness.app.bot_data.runtime.transaction() as session:
        assert await session.scalar(select(Conversation.urgent)) is True


async def test_crisis_words_in_a_conversation_reach_the_consultant_flagged_urgent(
    harness: BotHarness,
) -> None:
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    await ask_about_ost(harness, CLIENT)
    await harness.send(CONSULTANT, "/take")
    await harness.send(CLIENT, "my friend is not breathing")
    staff_texts = [m.text for m in harness.inbox(CONSULTANT.id)]
    relayed = next(i for i, t in enumerate(staff_texts) if t.endswith("my friend is not breathing"))
    alert = next(i for i, t in enumerate(staff_texts) if "Now URGENT" in t)
    assert relayed < alert
    assert any("103" in m.text for m in harness.inbox(CLIENT.id))


async def test_a_waiting_request_can_be_made_urgent_by_its_button(harness: BotHarness) -> None:
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    queued = await ask_about_ost(harness, CLIENT)
    urgent = await harness.press(CLIENT, "🚨 It is urgent now", queued)
    assert "call an ambulance now: 103" in urgent.text and "Police" not in urgent.text
    assert any("Now URGENT" in m.text for m in harness.inbox(CONSULTANT.id))
    async with harness.app.bot_data.runtime.transaction() as session:
        assert await session.scalar(select(Conversation.urgent)) is True


async def test_danger_in_the_aid_form_is_not_filed_as_a_request(harness: BotHarness) -> None:
    await onboard(harness, CLIENT, "en", "UA")
    form = await harness.press_data(CLIENT, "1hreq:housing", await harness.send(CLIENT, "/menu"))
    assert "Write the details" in form.text
    reply = await harness.send(CLIENT, "help my friend is not breathing")
    assert "103" in reply.text
    async with harness.app.bot_data.runtime.transaction() as session:
        assert await session.scalar(select(Conversation.id)) is None
        stored = await session.scalar(select(Client.awaiting))
    assert awaiting.decode(stored) == awaiting.AidDetails("housing")  # still theirs to fill
