"""Running a survey: sending it to subscribers, its questions as polls in channels, counting
answers, closing it, and its results (only as aggregates; see bot/services/surveys.py for
what is kept about whom).

Sending is one transaction: a row per recipient (a keyed hash, so a forged button from anyone
else is not counted) and the outbox rows of the messages, sent behind replies to clients.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import (
    AuditEntry,
    Client,
    Survey,
    SurveyPoll,
    SurveyQuestion,
    SurveyRecipient,
    SurveyTally,
    SurveyVote,
)
from bot.services import outbox
from bot.services.surveys import (
    CLOSED,
    DRAFT,
    OPEN,
    Question,
    SurveyError,
    SurveyView,
    get,
    question,
)

_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class Result:
    question: Question
    in_bot: tuple[int, ...]  # per option
    in_channels: tuple[int, ...]  # per option

    def total(self, option: int) -> int:
        return self.in_bot[option] + self.in_channels[option]


async def send_to_subscribers(
    session: AsyncSession,
    keys: Keys,
    survey_id: int,
    *,
    messages: Callable[[SurveyView, str], list[dict[str, Any]]],
    by: int,
) -> dict[str, int]:
    """Queue the survey for every subscriber who reads the bot in a language all its questions
    have (`messages(survey, language)`: the sendMessage parameters, in order). Opens the
    survey. Returns readers per language."""
    view = await get(session, survey_id)
    if view is None:
        raise SurveyError("not_found")
    if view.status == CLOSED:
        raise SurveyError("status_closed")
    if not view.questions:
        raise SurveyError("no_questions")
    if not view.languages:
        raise SurveyError("no_common_language")
    readers = await session.execute(
        select(Client.id, Client.key, Client.chat_ref, Client.language)
        .where(Client.subscribed_at.is_not(None), Client.language.in_(view.languages))
        .order_by(Client.id)
    )
    rendered = {language: messages(view, language) for language in view.languages}
    sent: dict[str, int] = {}
    rows: list[tuple[bytes, str, str, dict[str, Any]]] = []
    already = set(
        await session.scalars(
            select(SurveyRecipient.recipient).where(SurveyRecipient.survey_id == survey_id)
        )
    )
    for client_id, client_key, chat_ref, language in readers:
        if language is None:  # not asked for by the query above
            continue
        token = keys.recipient_token(client_key, survey_id)
        if token not in already:  # sent again: those who had it already keep one row
            session.add(SurveyRecipient(survey_id=survey_id, recipient=token))
            already.add(token)
        rows.extend(
            (chat_ref, f"client:{client_id}", "sendMessage", params)
            for params in rendered[language]
        )
        sent[language] = sent.get(language, 0) + 1
    await outbox.enqueue_many(session, keys, rows)
    await _open(session, survey_id)
    session.add(
        AuditEntry(
            staff_id=by,
            action="survey_send",
            detail=f"survey={survey_id} subscribers={sum(sent.values())}",
        )
    )
    await session.flush()
    return sent


async def _open(session: AsyncSession, survey_id: int) -> None:
    await session.execute(
        update(Survey)
        .where(Survey.id == survey_id, Survey.status == DRAFT)
        .values(status=OPEN, opened_at=datetime.now(UTC)),
        execution_options=_NO_SYNC,
    )


async def record_poll(
    session: AsyncSession,
    survey_id: int,
    question_id: int,
    *,
    channel_id: int,
    poll_id: str,
    message_id: int,
    by: int,
) -> None:
    """A question was posted as a poll in a channel (the survey opens)."""
    session.add(
        SurveyPoll(
            question_id=question_id,
            channel_id=channel_id,
            poll_id=poll_id,
            message_id=message_id,
            counts="[]",
        )
    )
    await _open(session, survey_id)
    session.add(
        AuditEntry(
            staff_id=by,
            action="survey_poll",
            detail=f"survey={survey_id} question={question_id} channel={channel_id}",
        )
    )
    await session.flush()


async def update_poll(session: AsyncSession, poll_id: str, counts: list[int]) -> bool:
    """Telegram's new totals for one of our polls; False if it is not ours."""
    result = await session.execute(
        update(SurveyPoll).where(SurveyPoll.poll_id == poll_id).values(counts=json.dumps(counts)),
        execution_options=_NO_SYNC,
    )
    return bool(cast("CursorResult[Any]", result).rowcount)


async def polls_of(session: AsyncSession, survey_id: int) -> list[tuple[int, int | None, int]]:
    """(question id, channel id, message id) of the survey's channel polls."""
    rows = await session.execute(
        select(SurveyPoll.question_id, SurveyPoll.channel_id, SurveyPoll.message_id)
        .join(SurveyQuestion, SurveyQuestion.id == SurveyPoll.question_id)
        .where(SurveyQuestion.survey_id == survey_id)
    )
    return [(question_id, channel_id, message_id) for question_id, channel_id, message_id in rows]


async def answer(
    session: AsyncSession, keys: Keys, *, client_key: str, question_id: int, options: list[int]
) -> str:
    """Count a client's answer once: "counted", "again" (already answered), "closed" or
    "unknown" (no such question, or the survey was not sent to this client: a forged or
    forwarded button). Only the counters change; the vote row says that someone answered,
    not what."""
    found = await question(session, question_id)
    if found is None:
        return "unknown"
    q, status = found
    if status != OPEN:
        return "closed"
    survey_id = await session.scalar(
        select(SurveyQuestion.survey_id).where(SurveyQuestion.id == question_id)
    )
    sent_to = await session.scalar(
        select(SurveyRecipient.id).where(
            SurveyRecipient.survey_id == survey_id,
            SurveyRecipient.recipient == keys.recipient_token(client_key, survey_id or 0),
        )
    )
    if sent_to is None:
        return "unknown"
    count = len(next(iter(q.texts.values()))["options"])
    chosen = sorted({o for o in options if 0 <= o < count})
    if not chosen or (len(chosen) > 1 and not q.multiple):
        return "unknown"
    try:
        async with session.begin_nested():
            session.add(
                SurveyVote(question_id=question_id, voter=keys.voter_token(client_key, question_id))
            )
            await session.flush()
    except IntegrityError:
        return "again"
    await session.execute(
        update(SurveyTally)
        .where(SurveyTally.question_id == question_id, SurveyTally.option.in_(chosen))
        .values(count=SurveyTally.count + 1),
        execution_options=_NO_SYNC,
    )
    return "counted"


async def close(session: AsyncSession, survey_id: int, *, by: int) -> None:
    await session.execute(
        update(Survey)
        .where(Survey.id == survey_id, Survey.status != CLOSED)
        .values(status=CLOSED, closed_at=datetime.now(UTC)),
        execution_options=_NO_SYNC,
    )
    session.add(AuditEntry(staff_id=by, action="survey_close", detail=f"survey={survey_id}"))
    await session.flush()


async def results(session: AsyncSession, survey_id: int) -> list[Result]:
    view = await get(session, survey_id)
    if view is None:
        raise SurveyError("not_found")
    out = []
    for q in view.questions:
        count = len(next(iter(q.texts.values()))["options"])
        in_bot = [0] * count
        for option, value in await session.execute(
            select(SurveyTally.option, SurveyTally.count).where(SurveyTally.question_id == q.id)
        ):
            if 0 <= option < count:
                in_bot[option] = value
        in_channels = [0] * count
        for (counts,) in await session.execute(
            select(SurveyPoll.counts).where(SurveyPoll.question_id == q.id)
        ):
            for index, value in enumerate(json.loads(counts or "[]")[:count]):
                in_channels[index] += int(value)
        out.append(Result(q, tuple(in_bot), tuple(in_channels)))
    return out
