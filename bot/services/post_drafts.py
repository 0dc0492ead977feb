"""Writing a post: a new draft, its language versions, its button, where it goes, whether
it invites to an event; and dropping it. Only a draft or a scheduled post can be changed
(a published one: bot/services/post_copies.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Channel, Post, PostChannel, PostVersion
from bot.services.posts import (
    CANCELLED,
    DRAFT,
    EDITABLE,
    LANGUAGES,
    NO_SYNC,
    PostError,
    as_utc,
    audit,
    changed,
    plain_text,
    require,
    utcnow,
)

KINDS = ("text", "photo", "document")
BUTTON_KINDS = ("none", "consult", "node", "url")
# Telegram's limits, counted on the text a user sees (HTML tags are not counted by Telegram;
# counting them here keeps us on the safe side).
TEXT_MAX = 4096
CAPTION_MAX = 1024
LABEL_MAX = 64
_URL = re.compile(r"^(https://|tg://)\S{3,290}$")


async def create(
    session: AsyncSession,
    *,
    author_id: int | None,
    versions: Mapping[str, str] | None = None,
    button_kind: str = "none",
    button_target: str | None = None,
    ready_slug: str | None = None,
) -> int:
    """A new draft (from a ready-made post when `versions` are given); returns its id.

    Every active channel is chosen to begin with, and subscribers too: the usual case.
    """
    row = Post(
        author_id=author_id,
        status=DRAFT,
        button_kind=button_kind,
        button_target=button_target,
        to_subscribers=True,
        ready_slug=ready_slug,
    )
    session.add(row)
    await session.flush()
    for language, text in (versions or {}).items():
        session.add(PostVersion(post_id=row.id, language=language, kind="text", text=text))
    active = await session.scalars(select(Channel.id).where(Channel.active.is_(True)))
    for channel_id in active:
        session.add(PostChannel(post_id=row.id, channel_id=channel_id))
    await session.flush()
    await audit(session, "post_create", f"post={row.id}", author_id)
    return row.id


def check_version(kind: str, text: str, file_id: str | None) -> None:
    if kind not in KINDS:
        raise PostError("bad_kind")
    if kind != "text" and not file_id:
        raise PostError("no_file")
    if kind == "text" and not text.strip():
        raise PostError("empty")
    if len(plain_text(text)) > (TEXT_MAX if kind == "text" else CAPTION_MAX):
        raise PostError("too_long" if kind == "text" else "caption_too_long")


async def set_version(
    session: AsyncSession,
    post_id: int,
    language: str,
    *,
    kind: str,
    text: str,
    file_id: str | None = None,
) -> None:
    """Write (or replace) one language of a draft or scheduled post."""
    if language not in LANGUAGES:
        raise PostError("bad_language")
    check_version(kind, text, file_id)
    post = await require(session, post_id, EDITABLE)
    row = await session.scalar(
        select(PostVersion).where(PostVersion.post_id == post_id, PostVersion.language == language)
    )
    if row is None:
        row = PostVersion(post_id=post_id, language=language)
        session.add(row)
    row.kind, row.text, row.file_id = kind, text, file_id if kind != "text" else None
    post.updated_at = utcnow()
    await session.flush()


async def remove_version(session: AsyncSession, post_id: int, language: str) -> None:
    post = await require(session, post_id, EDITABLE)
    await session.execute(
        delete(PostVersion).where(PostVersion.post_id == post_id, PostVersion.language == language)
    )
    post.updated_at = utcnow()
    await session.flush()


def check_url_button(label: str, url: str) -> None:
    if not label.strip() or len(label) > LABEL_MAX:
        raise PostError("bad_label")
    if not _URL.match(url.strip()):
        raise PostError("bad_url")


async def set_button(
    session: AsyncSession,
    post_id: int,
    kind: str,
    *,
    target: str | None = None,
    label: str | None = None,
) -> None:
    """The button under the post: none, consult (target: a menu node with a consult topic),
    node (target: a menu node) or url (label and target: an https:// link)."""
    if kind not in BUTTON_KINDS:
        raise PostError("bad_button")
    if kind == "url":
        check_url_button(label or "", target or "")
    elif kind in ("consult", "node") and not target:
        raise PostError("bad_button")
    post = await require(session, post_id, EDITABLE)
    post.button_kind = kind
    post.button_target = target.strip() if target and kind != "none" else None
    post.button_label = label.strip() if label and kind == "url" else None
    post.updated_at = utcnow()
    await session.flush()


async def toggle_channel(session: AsyncSession, post_id: int, channel_id: int) -> bool:
    """Choose or un-choose a channel; returns whether it is chosen now."""
    await require(session, post_id, EDITABLE)
    if await session.get(Channel, channel_id) is None:
        raise PostError("no_channel")
    result = await session.execute(
        delete(PostChannel).where(
            PostChannel.post_id == post_id, PostChannel.channel_id == channel_id
        )
    )
    if changed(result):
        return False
    session.add(PostChannel(post_id=post_id, channel_id=channel_id))
    await session.flush()
    return True


async def set_event(
    session: AsyncSession, post_id: int, event_at: datetime | None, *, now: datetime
) -> None:
    """Make the post an invitation to an event at `event_at` (None: not an invitation)."""
    if event_at is not None and as_utc(event_at) <= as_utc(now):
        raise PostError("in_past")
    post = await require(session, post_id, EDITABLE)
    post.event_at = as_utc(event_at) if event_at else None
    post.updated_at = utcnow()
    await session.flush()


async def mark_ready(session: AsyncSession, post_id: int, slug: str) -> None:
    """Note which ready-made post this one was made from (a template must be filled in)."""
    post = await require(session, post_id, EDITABLE)
    post.ready_slug = slug[:24]
    await session.flush()


async def set_others_get(session: AsyncSession, post_id: int, language: str | None) -> None:
    """Which version subscribers get whose language the post lacks (None: nothing)."""
    post = await require(session, post_id, EDITABLE)
    if language is not None and language not in LANGUAGES:
        raise PostError("not_found")
    post.others_get = language
    await session.flush()


async def set_subscribers(session: AsyncSession, post_id: int, on: bool) -> None:
    post = await require(session, post_id, EDITABLE)
    post.to_subscribers = on
    await session.flush()


async def cancel(session: AsyncSession, post_id: int, *, by: int | None) -> None:
    """Drop a draft or a scheduled post (kept, as cancelled, for the log)."""
    result = await session.execute(
        update(Post)
        .where(Post.id == post_id, Post.status.in_(EDITABLE))
        .values(status=CANCELLED, updated_at=utcnow()),
        execution_options=NO_SYNC,
    )
    if not changed(result):
        await require(session, post_id, EDITABLE)
    await audit(session, "post_cancel", f"post={post_id}", by)
