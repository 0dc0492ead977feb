"""Language match (issue 10): a request goes to consultants who read the client's language;
with none on duty, the client is offered one who writes a language they may read, and
decides. Urgent requests reach everyone on duty at once, and the client is told the
consultant's language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.config import ConfigError, load_settings
from bot.models import Conversation
from tests.harness import BotHarness, FakeUser, Sent
from tests.test_client_journey import onboard
from tests.test_consultation import add_consultant

RUSSIAN = FakeUser(id=9100000101, first_name="Olga", language_code="ru")
KAZAKH = FakeUser(id=5550007701, first_name="Aigerim", language_code="kk")

OFFER_KK = "орыс тілінде жазатын кеңесші бар"
YES_KK = "Иә, орыс тілінде болады"
NO_KK = "Жоқ, күтемін"
NOBODY_KK = "Дәл қазір ешкім кезекшілікте емес"


@pytest.fixture
async def russian_on_duty(harness: BotHarness) -> FakeUser:
    await add_consultant(harness, RUSSIAN, display_name="Olga", languages=["ru"])
    await harness.send(RUSSIAN, "/duty on")
    return RUSSIAN


async def ask(harness: BotHarness, client: FakeUser, language: str, urgent: bool = False) -> Sent:
    await onboard(harness, client, language, "KZ")
    await harness.press_data(client, "1ask:ost")
    return await harness.press_data(client, f"1urg:ost:{int(urgent)}")


async def conversation(session_factory) -> Conversation:  # type: ignore[no-untyped-def]
    async with session_factory() as session:
        found = await session.scalar(select(Conversation))
        assert found is not None
        return found


def requests_for(harness: BotHarness, user: FakeUser) -> list[Sent]:
    return [m for m in harness.inbox(user.id) if any(
        b.get("callback_data", "").startswith("1take:") for row in m.buttons for b in row
    )]  # fmt: skip


async def test_kazakh_client_is_offered_russian_and_yes_reaches_the_russian_consultant(
    harness: BotHarness, russian_on_duty: FakeUser, session_factory
) -> None:
    queued = await ask(harness, KAZAKH, "kk")
    assert OFFER_KK in queued.text and NOBODY_KK in queued.text  # honest, and an offer
    assert YES_KK in queued.labels and NO_KK in queued.labels
    assert requests_for(harness, russian_on_duty) == []  # nobody is asked before they agree
    assert (await conversation(session_factory)).language == "kk"

    moved = await harness.press(KAZAKH, YES_KK, queued)
    assert "орыс тілінде жазатын кеңесшілерге жіберілді" in moved.text
    assert YES_KK not in moved.labels and NOBODY_KK not in moved.text
    assert (await conversation(session_factory)).language == "ru"
    [notice] = requests_for(harness, russian_on_duty)
    await harness.press_data(russian_on_duty, notice.data_of(notice.labels[0]), notice)
    assert (await conversation(session_factory)).status == "active"


async def test_kazakh_client_who_prefers_to_wait_keeps_waiting_in_kazakh(
    harness: BotHarness, russian_on_duty: FakeUser, session_factory
) -> None:
    queued = await ask(harness, KAZAKH, "kk")
    waiting = await harness.press(KAZAKH, NO_KK, queued)
    assert "қазақ тілінде жазатын кеңесшіні күтеді" in waiting.text
    assert NOBODY_KK in waiting.text and YES_KK not in waiting.labels
    assert (await conversation(session_factory)).language == "kk"
    assert requests_for(harness, russian_on_duty) == []


async def test_an_urgent_kazakh_request_reaches_everyone_on_duty_and_names_their_language(
    harness: BotHarness, russian_on_duty: FakeUser, session_factory
) -> None:
    queued = await ask(harness, KAZAKH, "kk", urgent=True)
    assert len(requests_for(harness, russian_on_duty)) == 1  # at once, no question asked
    assert "кеңесші орыс тілінде жауап беруі мүмкін" in queued.text
    assert YES_KK not in queued.labels
    assert (await conversation(session_factory)).language == "kk"


async def test_no_offer_where_the_settings_name_no_other_language(
    harness: BotHarness, session_factory
) -> None:
    english = FakeUser(id=9100000102, first_name="Ann", language_code="en")
    await add_consultant(harness, english, display_name="Ann", languages=["en"])
    await harness.send(english, "/duty on")
    client = FakeUser(id=5550007702, language_code="ru")
    queued = await ask(harness, client, "ru")  # ru -> none by default
    assert "Сейчас никто не дежурит" in queued.text
    assert not any(b.startswith("Да, на") for b in queued.labels)
    assert requests_for(harness, english) == []


async def test_a_forged_language_answer_changes_nothing(
    harness: BotHarness, russian_on_duty: FakeUser, session_factory
) -> None:
    await ask(harness, KAZAKH, "kk")
    conversation_id = (await conversation(session_factory)).id
    await harness.press_data(KAZAKH, f"1lng:{conversation_id}:en")  # kk -> en is not offered
    assert (await conversation(session_factory)).language == "kk"
    assert requests_for(harness, russian_on_duty) == []


def test_language_fallbacks_are_read_from_a_short_setting() -> None:
    settings = load_settings(_env_file=None, language_fallbacks="kk=ru; uk=ru,en; ru=")
    assert settings.language_fallbacks == {"kk": ("ru",), "uk": ("ru", "en"), "ru": ()}
    assert load_settings(_env_file=None).language_fallbacks == {"kk": ("ru",), "uk": ("ru", "en")}
    with pytest.raises(ConfigError, match="PEERLINE_LANGUAGE_FALLBACKS"):
        load_settings(_env_file=None, language_fallbacks="kk=de")
