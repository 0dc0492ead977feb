"""Reminders of events: a reader who pressed "remind me" under an invitation gets one an
hour before it starts, in their language (sent from the maintenance loop)."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.runtime import Runtime
from bot.services import clients, notify, posts, reminders
from bot.services.posts import PostView


def reminder_text(runtime: Runtime, post: PostView, language: str | None) -> str:
    """The reminder of an invitation's event, in the client's language."""
    _ = runtime.i18n.get(language)
    version = post.versions.get(language or "") or next(iter(post.versions.values()), None)
    title = html.escape(posts.title_of(version)) if version else f"#{post.id}"
    zone = ZoneInfo(runtime.settings.timezone)
    when = post.event_at.astimezone(zone).strftime("%d.%m.%Y %H:%M") if post.event_at else "?"
    return _.gettext(
        "🔔 Reminder: %(title)s — starts %(when)s (%(zone)s).",
        title=title,
        when=when,
        zone=runtime.settings.timezone,
    )


async def send_due_reminders(runtime: Runtime, now: datetime) -> int:
    """Queue every reminder whose time has come (one transaction); returns how many."""
    async with runtime.transaction() as session:
        due = await reminders.claim_due(session, now)
        for item in due:
            post = await posts.get(session, item.post_id)
            if post is None:
                continue
            await notify.send(
                session,
                runtime.keys,
                chat_ref=await clients.chat_ref(session, item.client_id),
                recipient=f"client:{item.client_id}",
                text=reminder_text(runtime, post, item.language),
                protect_content=runtime.settings.protect_content,
            )
    return len(due)
