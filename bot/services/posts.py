"""Posts: written once in several languages, published to channels and to subscribers.

Life of a post: draft -> scheduled -> published, or draft -> published; a scheduled post can go
back to draft or be cancelled; a published one can be edited or deleted in its channels.

This module is the post itself: its states, what a post looks like to the rest of the bot
(`PostView`), reading it, and the checks every path shares. The jobs done to a post live
next to it, one module each:
- post_drafts: writing a draft (versions, button, audience, invitation, cancelling);
- post_schedule: scheduling, the due list, and reading a time an admin typed;
- post_publish: publishing (the template check and the outbox rows, one transaction);
- post_copies: a published post's copies (delivery progress, editing, deleting);
- post_log: the record of what channel admins did.

Texts are Telegram HTML. Posts are the organisation's public texts: not encrypted.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.languages import LANGUAGES
from bot.models import AuditEntry, Client, Post, PostChannel, PostVersion

DRAFT, SCHEDULED, PUBLISHED, CANCELLED, DELETED = (
    "draft",
    "scheduled",
    "published",
    "cancelled",
    "deleted",
)
EDITABLE = (DRAFT, SCHEDULED)
# An UPDATE that need not refresh objects already loaded in the session.
NO_SYNC = {"synchronize_session": False}
_TAG = re.compile(r"<[^>]*>")


class PostError(Exception):
    """Something about a post that cannot be done; the code names it for the handler."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Version:
    language: str
    kind: str  # text | photo | document
    text: str
    file_id: str | None = None


@dataclass(frozen=True)
class PostView:
    id: int
    status: str
    author_id: int | None
    versions: dict[str, Version]
    button_kind: str
    button_target: str | None
    button_label: str | None
    to_subscribers: bool
    channel_ids: tuple[int, ...]
    scheduled_at: datetime | None
    published_at: datetime | None
    ready_slug: str | None
    created_at: datetime
    event_at: datetime | None = None  # an invitation: when the event is
    others_get: str | None = None  # the version readers of a language it lacks get

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(lang for lang in LANGUAGES if lang in self.versions)


def utcnow() -> datetime:
    return datetime.now(UTC)


def changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (it returns a cursor result)."""
    return int(cast("CursorResult[Any]", result).rowcount)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC time (SQLite hands naive ones back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def plain_text(text: str) -> str:
    """What Telegram counts against its limits: the text without its HTML markup."""
    return html.unescape(_TAG.sub("", text))


def title_of(version: Version, limit: int = 120) -> str:
    """The first line of a version, as plain text (what a reminder calls the event)."""
    lines = [line.strip() for line in plain_text(version.text).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return first[:limit] + ("…" if len(first) > limit else "")


def without_version(view: PostView, subscribers: Mapping[str, int]) -> dict[str, int]:
    """Subscribers by language that this post has no version for (they get `others_get`'s
    version, or nothing)."""
    return {
        language: count
        for language, count in subscribers.items()
        if count and language not in view.versions
    }


def check_publishable(post: PostView) -> None:
    """Something to publish and somewhere to publish it (asked when scheduling and again
    when publishing)."""
    if not post.versions:
        raise PostError("no_versions")
    if not post.channel_ids and not post.to_subscribers:
        raise PostError("no_audience")


# A gap left in a ready-made template ("[CITY]", "[ГОРОД]"): never published.
TEMPLATE_GAP = re.compile(r"\[[^\]\n]{1,60}\]")


def check_template(view: PostView, template_slugs: Collection[str]) -> None:
    """PostError("template") if the post was started from a template and a gap is left in
    any language. Checked by `publish` itself, so the scheduled path cannot skip it."""
    if view.ready_slug not in template_slugs:
        return
    if any(TEMPLATE_GAP.search(version.text or "") for version in view.versions.values()):
        raise PostError("template")


async def audit(session: AsyncSession, action: str, detail: str, by: int | None) -> None:
    session.add(AuditEntry(staff_id=by, action=action, detail=detail[:200]))
    await session.flush()


# --- reading -----------------------------------------------------------------------------


async def get(session: AsyncSession, post_id: int) -> PostView | None:
    row = await session.get(Post, post_id, populate_existing=True)
    if row is None:
        return None
    versions = await session.scalars(select(PostVersion).where(PostVersion.post_id == post_id))
    channel_ids = await session.scalars(
        select(PostChannel.channel_id)
        .where(PostChannel.post_id == post_id)
        .order_by(PostChannel.channel_id)
    )
    return PostView(
        id=row.id,
        status=row.status,
        author_id=row.author_id,
        versions={v.language: Version(v.language, v.kind, v.text, v.file_id) for v in versions},
        button_kind=row.button_kind,
        button_target=row.button_target,
        button_label=row.button_label,
        to_subscribers=row.to_subscribers,
        channel_ids=tuple(channel_ids),
        scheduled_at=as_utc(row.scheduled_at) if row.scheduled_at else None,
        published_at=as_utc(row.published_at) if row.published_at else None,
        ready_slug=row.ready_slug,
        others_get=row.others_get,
        created_at=as_utc(row.created_at),
        event_at=as_utc(row.event_at) if row.event_at else None,
    )


async def require(session: AsyncSession, post_id: int, statuses: Sequence[str]) -> Post:
    row = await session.get(Post, post_id, populate_existing=True)
    if row is None:
        raise PostError("not_found")
    if row.status not in statuses:
        raise PostError(f"status_{row.status}")
    return row


async def list_posts(
    session: AsyncSession, statuses: Sequence[str], *, limit: int = 10
) -> list[PostView]:
    """Newest first (scheduled ones by their time, soonest first)."""
    order = (
        (Post.scheduled_at, Post.id)
        if tuple(statuses) == (SCHEDULED,)
        else (Post.updated_at.desc(), Post.id.desc())
    )
    ids = await session.scalars(
        select(Post.id).where(Post.status.in_(statuses)).order_by(*order).limit(limit)
    )
    return [view for post_id in ids if (view := await get(session, post_id)) is not None]


async def subscribers_by_language(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Client.language, func.count())
        .where(Client.subscribed_at.is_not(None), Client.language.is_not(None))
        .group_by(Client.language)
    )
    return {language: n for language, n in rows if language is not None}


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Post.status, func.count()).group_by(Post.status))
    return {status: n for status, n in rows}
