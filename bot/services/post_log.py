"""The record of what was posted: everything channel admins (and the scheduler) did, for
`peerline posts log`. Channel ids in the details are shown with their titles; no client data
is in it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry, Channel, Staff
from bot.services.posts import as_utc

LOGGED = ("post_", "channel_", "story_", "survey_")


@dataclass(frozen=True)
class LogLine:
    at: datetime
    who: str  # the staff member's display name, or "bot" for scheduled work
    action: str
    detail: str


async def log(session: AsyncSession, *, since: datetime) -> list[LogLine]:
    """Everything channel admins did since `since`, oldest first: who, what, where, when.
    Channel ids in details are shown with their titles. No client data is involved."""
    titles = {
        str(cid): title for cid, title in await session.execute(select(Channel.id, Channel.title))
    }
    rows = await session.execute(
        select(AuditEntry.at, Staff.display_name, AuditEntry.action, AuditEntry.detail)
        .outerjoin(Staff, Staff.id == AuditEntry.staff_id)
        .where(AuditEntry.at >= as_utc(since))
        .order_by(AuditEntry.id)
    )
    lines = []
    for at, who, action, detail in rows:
        if not action.startswith(LOGGED):
            continue
        text = re.sub(
            r"\b(channels?)=([\d,]+)",
            lambda m: (
                m.group(1) + "=" + ", ".join(titles.get(i, f"#{i}") for i in m.group(2).split(","))
            ),
            detail or "",
        )
        lines.append(LogLine(as_utc(at), who or "bot", action, text))
    return lines
