"""Experience stories: written by clients, reviewed by channel admins, published anonymously.

draft (written, not sent yet) -> pending (waiting for a channel admin) -> approved (its text
becomes a draft post, which the admin edits and publishes like any other) or rejected (with a
reason the client is told). A decision erases the text and the link to the client from the
story row, in the same transaction that queues the client's notice: afterwards nothing in the
database says who wrote which post.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import AuditEntry, Story
from bot.services import post_drafts

PURPOSE = b"story"
TEXT_MAX = 3500  # leaves room in a 4096-character post for a line from the organisation
TEXT_MIN = 40
DRAFT, PENDING, APPROVED, REJECTED = "draft", "pending", "approved", "rejected"
REASONS = ("identifying", "risk", "off_topic", "duplicate", "russia", "other")
_NO_SYNC = {"synchronize_session": False}

# What may identify someone: phone numbers, @usernames, e-mail addresses, links.
_IDENTIFYING = {
    "phone": re.compile(r"(?<!\d)(?:\+?\d[\s()-]?){9,14}\d(?!\d)"),
    "username": re.compile(r"(?<![\w.])@[A-Za-z][A-Za-z0-9_]{3,}"),
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    "link": re.compile(r"(?i)\b(?:https?://|www\.|t\.me/)\S+"),
}


class StoryError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class StoryView:
    id: int
    client_id: int | None
    language: str
    status: str
    text: str | None
    created_at: datetime


def identifying(text: str) -> list[str]:
    """Which kinds of identifying detail the text seems to contain (a warning, not a block)."""
    return [kind for kind, pattern in _IDENTIFYING.items() if pattern.search(text)]


def _view(keys: Keys, row: Story) -> StoryView:
    text = keys.decrypt(row.body, purpose=PURPOSE).decode() if row.body else None
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return StoryView(row.id, row.client_id, row.language, row.status, text, created)


async def write(
    session: AsyncSession, keys: Keys, *, client_id: int, language: str, text: str
) -> StoryView:
    """Keep the client's text as their draft (replacing an earlier unsent one)."""
    text = text.strip()
    if len(text) < TEXT_MIN:
        raise StoryError("too_short")
    if len(text) > TEXT_MAX:
        raise StoryError("too_long")
    await session.execute(
        delete(Story).where(Story.client_id == client_id, Story.status == DRAFT),
        execution_options=_NO_SYNC,
    )
    row = Story(
        client_id=client_id,
        language=language,
        status=DRAFT,
        body=keys.encrypt_text(text, purpose=PURPOSE),
    )
    session.add(row)
    await session.flush()
    return _view(keys, row)


async def submit(session: AsyncSession, story_id: int, *, client_id: int) -> bool:
    """Send a draft for review; False if it is not this client's draft (any more)."""
    result = await session.execute(
        update(Story)
        .where(Story.id == story_id, Story.client_id == client_id, Story.status == DRAFT)
        .values(status=PENDING, created_at=func.now()),
        execution_options=_NO_SYNC,
    )
    return bool(cast("CursorResult[Any]", result).rowcount)


async def discard(session: AsyncSession, story_id: int, *, client_id: int) -> None:
    await session.execute(
        delete(Story).where(
            Story.id == story_id, Story.client_id == client_id, Story.status == DRAFT
        ),
        execution_options=_NO_SYNC,
    )


async def get(session: AsyncSession, keys: Keys, story_id: int) -> StoryView | None:
    row = await session.get(Story, story_id, populate_existing=True)
    return _view(keys, row) if row else None


async def pending(session: AsyncSession, keys: Keys, *, limit: int = 20) -> list[StoryView]:
    rows = await session.scalars(
        select(Story).where(Story.status == PENDING).order_by(Story.id).limit(limit)
    )
    return [_view(keys, row) for row in rows]


async def count_pending(session: AsyncSession) -> int:
    return (
        await session.scalar(select(func.count()).select_from(Story).where(Story.status == PENDING))
        or 0
    )


async def approve(
    session: AsyncSession, keys: Keys, story_id: int, *, by: int
) -> tuple[int, int | None] | None:
    """Make a draft post from a pending story; returns (post id, client to tell), or None
    if it is not pending (another admin decided first)."""
    story = await get(session, keys, story_id)
    if story is None or story.status != PENDING or story.text is None:
        return None
    post_id = await post_drafts.create(
        session, author_id=by, versions={story.language: _as_html(story.text)}
    )
    closed = await session.execute(
        update(Story)
        .where(Story.id == story_id, Story.status == PENDING)
        .values(
            status=APPROVED,
            body=None,
            client_id=None,
            post_id=post_id,
            reviewed_by=by,
            decided_at=datetime.now(UTC),
        ),
        execution_options=_NO_SYNC,
    )
    if not cast("CursorResult[Any]", closed).rowcount:
        raise StoryError("decided")  # rolls the draft post back with the transaction
    session.add(AuditEntry(staff_id=by, action="story_approve", detail=f"story={story_id}"))
    await session.flush()
    return post_id, story.client_id


async def reject(
    session: AsyncSession, keys: Keys, story_id: int, reason: str, *, by: int
) -> tuple[str, int | None] | None:
    """Reject a pending story; returns (its language, client to tell), or None."""
    if reason not in REASONS:
        raise StoryError("bad_reason")
    story = await get(session, keys, story_id)
    if story is None or story.status != PENDING:
        return None
    closed = await session.execute(
        update(Story)
        .where(Story.id == story_id, Story.status == PENDING)
        .values(
            status=REJECTED,
            body=None,
            client_id=None,
            reason=reason,
            reviewed_by=by,
            decided_at=datetime.now(UTC),
        ),
        execution_options=_NO_SYNC,
    )
    if not cast("CursorResult[Any]", closed).rowcount:
        return None
    session.add(AuditEntry(staff_id=by, action="story_reject", detail=f"story={story_id} {reason}"))
    await session.flush()
    return story.language, story.client_id


def _as_html(text: str) -> str:
    """A client's plain text, safe as Telegram HTML."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
