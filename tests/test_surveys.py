"""Surveys: written in two languages, answered by subscribers with buttons (once each), posted
as polls in channels; results are aggregates with counts under 5 shown as "<5"."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import SurveyTally, SurveyVote
from bot.services import surveys
from tests.harness import BotHarness, FakeUser
from tests.test_posts import (
    ADMIN,
    RU_CHANNEL,
    UK_CHANNEL,
    add_member,
    register_channels,
    subscriber,
)

QUESTION = """ru: Носите ли вы с собой налоксон?
- Всегда
- Иногда
- Никогда
uk: Чи носите ви з собою налоксон?
- Завжди
- Іноді
- Ніколи"""
WHERE = """ru: Где вы получаете помощь?
- НКО
- Клиника
uk: Де ви отримуєте допомогу?
- НУО
- Клініка"""


async def write_survey(harness: BotHarness) -> int:
    prompt = await harness.send(ADMIN, "/survey")
    assert "ru: " in prompt.text
    screen = await harness.send(ADMIN, QUESTION)
    assert "Question added" in screen.text and "1. [RU, UK]" in screen.text
    await harness.press(ADMIN, "➕ Add a question", screen)
    screen = await harness.send(ADMIN, WHERE)
    screen = await harness.press(ADMIN, "2: one answer ⇄", screen)
    assert "several answers" in screen.text
    return int(screen.text.split("#", 1)[1].split("<", 1)[0])


async def test_subscribers_answer_once_and_results_are_suppressed(
    harness: BotHarness, session_factory
) -> None:
    await add_member(harness)
    readers = [await subscriber(harness, 5553000000 + i, "ru") for i in range(6)]
    uk_reader = await subscriber(harness, 5553000100, "uk")
    en_reader = await subscriber(harness, 5553000200, "en")
    await write_survey(harness)
    screen = await harness.press(ADMIN, "📨 Send to subscribers", harness.screen(ADMIN))
    assert "RU 6, UK 1" in screen.text
    await harness.deliver()
    assert all("налоксон" not in m.text for m in harness.inbox(en_reader.id))

    def question_messages(user: FakeUser) -> list:
        return [m for m in harness.inbox(user.id) if m.buttons and "sv" in str(m.buttons)]

    unanswered = {}
    for reader in readers:
        first, second = question_messages(reader)[-2:]
        unanswered[reader.id] = first
        await harness.press(reader, "Всегда", first)
        # Multiple choice: toggle both, then send.
        second = await harness.press(reader, "▫️ НКО", second)
        second = await harness.press(reader, "▫️ Клиника", second)
        assert "☑️ НКО" in second.labels and "☑️ Клиника" in second.labels
        done = await harness.press_data(reader, second.buttons[-1][0]["callback_data"], second)
        assert "✅" in done.text
    first, _second = question_messages(uk_reader)[-2:]
    await harness.press(uk_reader, "Ніколи", first)
    # A second answer is refused, even from an old copy of the buttons.
    old_copy = unanswered[readers[0].id]
    await harness.press_data(readers[0], old_copy.buttons[2][0]["callback_data"], old_copy)
    refusal = harness.telegram.calls[-1][1]
    assert refusal["text"] == "Вы уже ответили на этот вопрос." and refusal["show_alert"]

    async with session_factory() as session:
        tallies = {
            (row.option): row.count
            for row in await session.scalars(select(SurveyTally).order_by(SurveyTally.id))
            if row.option in (0, 2)
        }
        votes = (await session.scalars(select(SurveyVote.voter))).all()
    assert len(votes) == 6 + 6 + 1
    assert all(len(v) == 64 for v in votes)  # keyed hashes, no client ids

    screen = await harness.send(ADMIN, "/surveys")
    survey = await harness.press(ADMIN, screen.labels[0], screen)
    results = await harness.press(ADMIN, "📈 Results", survey)
    assert "• Всегда: 6 (6 / 0)" in results.text
    assert "• Никогда: &lt;5 (&lt;5 / 0)" in results.text  # one Ukrainian "Ніколи"
    assert "• Иногда: 0 (0 / 0)" in results.text
    assert tallies  # rows exist per option


async def test_polls_in_channels_count_and_close(harness: BotHarness) -> None:
    await add_member(harness)
    await register_channels(harness)
    await write_survey(harness)
    screen = await harness.press(ADMIN, "📊 Polls in channels", harness.screen(ADMIN))
    assert "Posted in: Снижение вреда, Зменшення шкоди" in screen.text
    polls = harness.telegram.polls
    assert {chat for chat, *_ in polls.values()} == {RU_CHANNEL, UK_CHANNEL}
    ru_poll = next(
        pid for pid, (chat, _m, q, _o) in polls.items() if chat == RU_CHANNEL and "налоксон" in q
    )
    await harness.poll_votes(ru_poll, [7, 2, 0])
    results = await harness.press(ADMIN, "📈 Results", harness.screen(ADMIN))
    assert "• Всегда: 7 (0 / 7)" in results.text and "• Иногда: &lt;5 (0 / &lt;5)" in results.text
    survey = await harness.press(ADMIN, "↩️ Back", results)
    closed = await harness.press(ADMIN, "🔒 Close", survey)
    assert "closed" in closed.text
    stopped = [p for name, p in harness.telegram.calls if name == "stopPoll"]
    assert len(stopped) == 4  # two questions in two channels


async def test_bad_questions_are_explained(harness: BotHarness) -> None:
    await add_member(harness)
    await harness.send(ADMIN, "/survey")
    reply = await harness.send(ADMIN, "just a question without answers")
    assert "could not read the question" in reply.text
    reply = await harness.send(ADMIN, "ru: Вопрос?\n- да\n- нет\nuk: Питання?\n- так")
    assert "same number of answers" in reply.text
    reply = await harness.send(ADMIN, "en: One?\n- only")
    assert "2 to 10 answers" in reply.text


def test_small_numbers_are_not_shown() -> None:
    assert [surveys.shown(n) for n in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]
