"""Surveys: short single- or multiple-choice questions in several languages, answered by
subscribers in the bot and as Telegram polls in channels; results only as aggregates.

Privacy: an answer in the bot adds one to a counter (`SurveyTally`); what is kept per person is
only a keyed hash of (client, question) (`SurveyVote`), to refuse a second answer, with no
answer in it, and a keyed hash of (client, survey) for each person it was sent to
(`SurveyRecipient`), so that a forged button from anyone else is not counted. Channel polls
are anonymous Telegram polls: Telegram counts, we copy its totals.
Results show any count under `SMALL` as "<5", so that a small group cannot be singled out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.languages import LANGUAGES
from bot.models import (
    AuditEntry,
    Survey,
    SurveyQuestion,
    SurveyTally,
)

DRAFT, OPEN, CLOSED = "draft", "open", "closed"
SMALL = 5  # counts under this are shown as "<5"
QUESTION_MAX = 300  # Telegram's poll limits
OPTION_MAX = 100
OPTIONS_MIN, OPTIONS_MAX = 2, 10
QUESTIONS_MAX = 10
_NO_SYNC = {"synchronize_session": False}
_LANGUAGE_LINE = re.compile(r"^\s*(ru|uk|kk|en)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_OPTION_LINE = re.compile(r"^\s*[-*•]\s*(.+?)\s*$")


class SurveyError(Exception):
    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Question:
    id: int
    position: int
    multiple: bool
    texts: dict[str, dict[str, Any]]  # language -> {"q": str, "options": [str, ...]}

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(lang for lang in LANGUAGES if lang in self.texts)

    def in_language(self, language: str | None) -> dict[str, Any] | None:
        return self.texts.get(language or "")


@dataclass(frozen=True)
class SurveyView:
    id: int
    status: str
    author_id: int | None
    questions: tuple[Question, ...]

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages every question is written in (only those readers get the survey)."""
        if not self.questions:
            return ()
        return tuple(lang for lang in LANGUAGES if all(lang in q.texts for q in self.questions))


def shown(count: int) -> str:
    """A count as results show it: small numbers are not shown exactly."""
    return f"<{SMALL}" if 0 < count < SMALL else str(count)


def parse_question(text: str) -> dict[str, dict[str, Any]]:
    """ "ru: question" lines, each followed by "- option" lines, in one or more languages."""
    texts: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        heading = _LANGUAGE_LINE.match(line)
        option = _OPTION_LINE.match(line)
        if heading:
            language = heading.group(1).lower()
            if language in texts:
                raise SurveyError("twice", language=language)
            current = texts[language] = {"q": heading.group(2), "options": []}
        elif option and current is not None:
            current["options"].append(option.group(1))
        else:
            raise SurveyError("format")
    if not texts:
        raise SurveyError("format")
    counts = {len(t["options"]) for t in texts.values()}
    if len(counts) > 1:
        raise SurveyError("option_counts")
    (count,) = counts
    if not OPTIONS_MIN <= count <= OPTIONS_MAX:
        raise SurveyError("option_number")
    for value in texts.values():
        if len(value["q"]) > QUESTION_MAX or any(len(o) > OPTION_MAX for o in value["options"]):
            raise SurveyError("too_long")
    return texts


def _question(row: SurveyQuestion) -> Question:
    return Question(row.id, row.position, row.multiple, json.loads(row.texts))


async def get(session: AsyncSession, survey_id: int) -> SurveyView | None:
    row = await session.get(Survey, survey_id, populate_existing=True)
    if row is None:
        return None
    questions = await session.scalars(
        select(SurveyQuestion)
        .where(SurveyQuestion.survey_id == survey_id)
        .order_by(SurveyQuestion.position)
        .execution_options(populate_existing=True)
    )
    return SurveyView(row.id, row.status, row.author_id, tuple(_question(q) for q in questions))


async def question(session: AsyncSession, question_id: int) -> tuple[Question, str] | None:
    """A question and its survey's status."""
    row = await session.get(SurveyQuestion, question_id, populate_existing=True)
    if row is None:
        return None
    status = await session.scalar(select(Survey.status).where(Survey.id == row.survey_id))
    return _question(row), status or CLOSED


async def create(session: AsyncSession, *, author_id: int) -> int:
    row = Survey(author_id=author_id, status=DRAFT)
    session.add(row)
    await session.flush()
    session.add(AuditEntry(staff_id=author_id, action="survey_create", detail=f"survey={row.id}"))
    return row.id


async def _require(session: AsyncSession, survey_id: int, status: str) -> Survey:
    row = await session.get(Survey, survey_id, populate_existing=True)
    if row is None:
        raise SurveyError("not_found")
    if row.status != status:
        raise SurveyError(f"status_{row.status}")
    return row


async def add_question(
    session: AsyncSession, survey_id: int, texts: Mapping[str, dict[str, Any]]
) -> int:
    await _require(session, survey_id, DRAFT)
    count = await session.scalar(select(func.count()).where(SurveyQuestion.survey_id == survey_id))
    if (count or 0) >= QUESTIONS_MAX:
        raise SurveyError("too_many")
    row = SurveyQuestion(
        survey_id=survey_id,
        position=(count or 0) + 1,
        multiple=False,
        texts=json.dumps(texts, ensure_ascii=False),
    )
    session.add(row)
    await session.flush()
    options = len(next(iter(texts.values()))["options"])
    session.add_all(SurveyTally(question_id=row.id, option=i, count=0) for i in range(options))
    await session.flush()
    return row.id


async def toggle_multiple(session: AsyncSession, survey_id: int, question_id: int) -> None:
    await _require(session, survey_id, DRAFT)
    await session.execute(
        update(SurveyQuestion)
        .where(SurveyQuestion.id == question_id, SurveyQuestion.survey_id == survey_id)
        .values(multiple=~SurveyQuestion.multiple),
        execution_options=_NO_SYNC,
    )


async def remove_question(session: AsyncSession, survey_id: int, question_id: int) -> None:
    await _require(session, survey_id, DRAFT)
    row = await session.get(SurveyQuestion, question_id)
    if row is not None and row.survey_id == survey_id:
        await session.delete(row)
        await session.flush()


async def list_surveys(session: AsyncSession, *, limit: int = 10) -> list[SurveyView]:
    ids = await session.scalars(select(Survey.id).order_by(Survey.id.desc()).limit(limit))
    return [view for survey_id in ids if (view := await get(session, survey_id)) is not None]
