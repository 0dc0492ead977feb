"""Scheduling a post: publish at a time an admin typed ("25.12 10:00", "+30"), back to
draft, and the list of posts whose time has come (published by bot/publishing.py)."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Post
from bot.services.posts import (
    DRAFT,
    EDITABLE,
    NO_SYNC,
    SCHEDULED,
    PostError,
    as_utc,
    audit,
    changed,
    check_publishable,
    check_template,
    get,
    require,
    utcnow,
)


async def schedule(
    session: AsyncSession,
    post_id: int,
    when: datetime,
    *,
    now: datetime,
    by: int | None,
    template_slugs: Collection[str],
) -> None:
    """Publish at `when` (aware; stored UTC). It must be in the future, and a post made from
    a template (`template_slugs`) must have its [gaps] filled in: asked now for a clear
    answer, and again when it is published (it can be edited in between)."""
    when, now = as_utc(when), as_utc(now)
    if when <= now:
        raise PostError("in_past")
    if when > now + timedelta(days=366):
        raise PostError("too_far")
    view = await get(session, post_id)
    if view is None:
        raise PostError("not_found")
    check_template(view, template_slugs)
    check_publishable(view)
    post = await require(session, post_id, EDITABLE)
    post.status, post.scheduled_at, post.updated_at = SCHEDULED, when, now
    await session.flush()
    await audit(session, "post_schedule", f"post={post_id} at={when:%Y-%m-%d %H:%M}Z", by)


async def unschedule(session: AsyncSession, post_id: int, *, by: int | None) -> None:
    """Back to draft (it will not be published until scheduled again or published now)."""
    result = await session.execute(
        update(Post)
        .where(Post.id == post_id, Post.status == SCHEDULED)
        .values(status=DRAFT, scheduled_at=None, updated_at=utcnow()),
        execution_options=NO_SYNC,
    )
    if not changed(result):
        await require(session, post_id, (SCHEDULED,))
    await audit(session, "post_unschedule", f"post={post_id}", by)


async def due(session: AsyncSession, now: datetime) -> list[int]:
    """Scheduled posts whose time has come, oldest first."""
    ids = await session.scalars(
        select(Post.id)
        .where(Post.status == SCHEDULED, Post.scheduled_at <= as_utc(now))
        .order_by(Post.scheduled_at, Post.id)
    )
    return list(ids)


async def next_due(session: AsyncSession) -> datetime | None:
    value = await session.scalar(
        select(func.min(Post.scheduled_at)).where(Post.status == SCHEDULED)
    )
    return as_utc(value) if value else None


# --- when: "25.12 10:00", "2026-12-25 10:00", "10:00", "+30" ----------------------------

_DATE_TIME = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})$"), ("y", "m", "d", "H", "M")),
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}) (\d{1,2}):(\d{2})$"), ("d", "m", "y", "H", "M")),
    (re.compile(r"^(\d{1,2})\.(\d{1,2}) (\d{1,2}):(\d{2})$"), ("d", "m", "H", "M")),
    (re.compile(r"^(\d{1,2}):(\d{2})$"), ("H", "M")),
)
_IN_MINUTES = re.compile(r"^\+\s*(\d{1,5})$")


def parse_when(text: str, now: datetime, zone: tzinfo) -> datetime | None:
    """A time typed by an admin, in the organisation's time zone, as aware UTC; None if it
    is not one of the forms. A day without a year is the next such day; a time alone is
    today, or tomorrow when today's has passed. "+30" is thirty minutes from now."""
    text = " ".join(text.strip().split())
    now = as_utc(now)
    minutes = _IN_MINUTES.match(text)
    if minutes:
        return now + timedelta(minutes=int(minutes.group(1)))
    local_now = now.astimezone(zone)
    for pattern, names in _DATE_TIME:
        match = pattern.match(text)
        if not match:
            continue
        parts = dict(zip(names, (int(g) for g in match.groups()), strict=True))
        try:
            day = date(
                parts.get("y", local_now.year),
                parts.get("m", local_now.month),
                parts.get("d", local_now.day),
            )
            moment = datetime(day.year, day.month, day.day, parts["H"], parts["M"], tzinfo=zone)
        except ValueError:
            return None
        if moment <= local_now and "y" not in parts:
            if "d" in parts:  # "25.12" already passed this year: next year's
                try:
                    moment = moment.replace(year=moment.year + 1)
                except ValueError:
                    return None
            else:  # a time already passed today: tomorrow's
                moment = moment + timedelta(days=1)
        return moment.astimezone(UTC)
    return None
