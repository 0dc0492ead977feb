"""Canned answers: ready texts per language that consultants send with one button.

Supervisors and admins manage them (the handler checks the role); consultants only read.
A body is the organisation's own text, sent as HTML-escaped plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.languages import LANGUAGES
from bot.models import CannedAnswer

TITLE_MAX = 60
BODY_MAX = 3500  # well below Telegram's 4096 characters, with room for escaping


class CannedError(Exception):
    """A canned answer that cannot be stored; the message says why."""


@dataclass(frozen=True)
class CannedView:
    id: int
    language: str
    title: str
    body: str


def _view(row: CannedAnswer) -> CannedView:
    return CannedView(id=row.id, language=row.language, title=row.title, body=row.body)


async def add(session: AsyncSession, *, language: str, title: str, body: str) -> CannedView:
    language = language.strip().lower()
    title = " ".join(title.split())
    body = body.strip()
    if language not in LANGUAGES:
        raise CannedError(f"unknown language {language!r}: choose from {', '.join(LANGUAGES)}")
    if not title or len(title) > TITLE_MAX:
        raise CannedError(f"the title must be 1 to {TITLE_MAX} characters")
    if not body or len(body) > BODY_MAX:
        raise CannedError(f"the text must be 1 to {BODY_MAX} characters")
    row = CannedAnswer(language=language, title=title, body=body)
    session.add(row)
    await session.flush()
    return _view(row)


async def list_for(session: AsyncSession, language: str) -> list[CannedView]:
    rows = await session.scalars(
        select(CannedAnswer)
        .where(CannedAnswer.language == language)
        .order_by(CannedAnswer.title, CannedAnswer.id)
    )
    return [_view(row) for row in rows]


async def get(session: AsyncSession, canned_id: int) -> CannedView | None:
    row = await session.scalar(select(CannedAnswer).where(CannedAnswer.id == canned_id))
    return _view(row) if row else None


async def delete_answer(session: AsyncSession, canned_id: int) -> bool:
    result = await session.execute(delete(CannedAnswer).where(CannedAnswer.id == canned_id))
    return bool(cast("CursorResult[tuple[()]]", result).rowcount)
