"""Only the people a survey was sent to can answer it: a forged button from anyone else is
answered politely and counted nowhere."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.models import SurveyRecipient, SurveyTally, SurveyVote
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard
from tests.test_posts import ADMIN, add_member, subscriber
from tests.test_surveys import write_survey


async def counted(session_factory) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(answers in the tallies, vote rows)"""
    async with session_factory() as session:
        tallies = await session.scalar(select(func.sum(SurveyTally.count)))
        votes = await session.scalar(select(func.count()).select_from(SurveyVote))
    return int(tallies or 0), int(votes or 0)


async def test_a_forged_vote_from_someone_the_survey_was_not_sent_to_is_refused(
    harness: BotHarness, session_factory
) -> None:
    await add_member(harness)
    reader = await subscriber(harness, 5553100001, "ru")
    await write_survey(harness)
    await harness.press(ADMIN, "📨 Send to subscribers", harness.screen(ADMIN))
    await harness.deliver()
    question = next(m for m in harness.inbox(reader.id) if m.buttons and "svo" in str(m.buttons))
    data = question.buttons[0][0]["callback_data"]

    # A subscriber who joined after the send, and a client who never subscribed, forge the
    # same button data on a message of the bot's in their own chat.
    late = await subscriber(harness, 5553100002, "ru")
    never = FakeUser(id=5553100003, first_name="Nobody", username=None, language_code="ru")
    await onboard(harness, never, "ru")
    for forger in (late, never):
        screen = await harness.press_data(forger, data, harness.screen(forger))
        assert "Этот вопрос больше недоступен." in screen.text
    assert await counted(session_factory) == (0, 0)

    await harness.press(reader, question.labels[0], question)
    assert await counted(session_factory) == (1, 1)
    async with session_factory() as session:
        recipients = (await session.scalars(select(SurveyRecipient.recipient))).all()
    assert len(recipients) == 1 and len(recipients[0]) == 64  # a keyed hash, no client id


async def test_sending_a_survey_again_reaches_new_subscribers_without_duplicates(
    harness: BotHarness, session_factory
) -> None:
    await add_member(harness)
    first = await subscriber(harness, 5553200001, "ru")
    await write_survey(harness)
    survey_screen = harness.screen(ADMIN)
    await harness.press(ADMIN, "📨 Send to subscribers", survey_screen)
    late = await subscriber(harness, 5553200002, "ru")
    await harness.press_data(ADMIN, survey_screen.data_of("📨 Send to subscribers"), survey_screen)
    await harness.deliver()
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(SurveyRecipient)) == 2
    for user in (first, late):
        question = next(m for m in harness.inbox(user.id) if m.buttons and "svo" in str(m.buttons))
        await harness.press(user, question.labels[0], question)
    assert await counted(session_factory) == (2, 2)
