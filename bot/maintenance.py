"""Periodic work of the bot process: referral follow-ups and long-wait alerts.

Everything it sends goes through the outbox, so a restart loses nothing; claims are
conditional updates, so several bot processes never ask or alert twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime

from bot.callbacks import encode
from bot.i18n import N_
from bot.publishing import publish_due, send_due_reminders
from bot.runtime import Runtime
from bot.services import (
    alerts,
    clients,
    followup,
    posts,
    privacy,
    relay,
    reminders,
    rota,
    staff,
)

log = logging.getLogger(__name__)
RETENTION_EVERY = 24 * 3600.0  # seconds between retention purges

FOLLOW_UP_BUTTONS = (
    ("helped", N_("Yes, and it helped")),
    ("not_helped", N_("I went, but it did not help")),
    ("not_reached", N_("I did not get there")),
    ("stop", N_("Do not ask me again")),
)


async def run_once(runtime: Runtime) -> int:
    """One round; returns how many messages were queued."""
    queued = 0
    async with runtime.transaction() as session:
        for item in await followup.claim_due(session):
            _ = runtime.i18n.get(item.language)
            buttons = [
                [
                    {
                        "text": _.gettext(label),
                        "callback_data": encode("fup", item.conversation_id, key),
                    }
                ]
                for key, label in FOLLOW_UP_BUTTONS
            ]
            await relay.notice(
                session,
                runtime.keys,
                chat_ref=await clients.chat_ref(session, item.client_id),
                recipient=f"client:{item.client_id}",
                text=_.gettext(
                    "A few days ago a consultant suggested a service to you. Did you get there, "
                    "and did it help? Your answer is anonymous and helps us improve."
                ),
                buttons=buttons,
                protect_content=runtime.settings.protect_content,
            )
            queued += 1
        waits = await alerts.claim_long_waits(session, minutes=runtime.settings.wait_alert_minutes)
        supervisors = [m for m in await staff.list_staff(session) if m.can_supervise]
        for wait in waits:
            for member in supervisors:
                _ = runtime.i18n.get(member.languages[0] if member.languages else None)
                text = _.gettext(
                    "⏰ Client %(pseudonym)s has waited %(minutes)s min (%(topic)s, %(language)s). "
                    "Nobody has taken it yet.",
                    pseudonym=wait.pseudonym or "?",
                    minutes=wait.minutes,
                    topic=wait.topic,
                    language=wait.language,
                )
                take = [
                    [
                        {
                            "text": _.gettext("Take it"),
                            "callback_data": encode("take", wait.conversation_id),
                        }
                    ]
                ]
                await relay.notice(
                    session,
                    runtime.keys,
                    chat_ref=await staff.chat_ref(session, member.id),
                    recipient=f"staff:{member.id}",
                    text=text,
                    buttons=take,
                )
                queued += 1
    return queued


async def apply_rota(runtime: Runtime, since: datetime) -> datetime:
    """Put consultants on duty when a /rota slot starts and off when it ends, for the slot
    edges passed since the last round; returns the new "since"."""
    now = rota.local_now(runtime.settings.timezone)
    async with runtime.transaction() as session:
        start, end = await rota.shift_changes(session, now, since)
        for staff_id in start:
            await staff.set_duty(session, staff_id, True)
        for staff_id in end:
            await staff.set_duty(session, staff_id, False)
    return now


async def until_next_post(runtime: Runtime, interval: float, now: datetime) -> float:
    """How long to sleep: `interval`, or less when a scheduled post or a reminder is due
    sooner (they go out on time, not up to a round later)."""
    async with runtime.transaction() as session:
        due = [d for d in (await posts.next_due(session), await reminders.next_due(session)) if d]
    if not due:
        return interval
    return max(0.5, min(interval, (min(due) - now).total_seconds()))


async def loop(runtime: Runtime, *, interval: float = 60.0) -> None:
    """Every `interval` seconds: scheduled posts, rota duty changes, follow-ups and alerts;
    once a day (and at start) the retention purge. Until cancelled; a failed round is
    logged, not fatal. Scheduled posts are read from the database each round, so a restart
    picks up whatever was scheduled before it."""
    last_purge = -RETENTION_EVERY
    since = rota.local_now(runtime.settings.timezone)
    while True:
        pause = interval
        try:
            await publish_due(runtime, posts.utcnow())
            await send_due_reminders(runtime, posts.utcnow())
            since = await apply_rota(runtime, since)
            await run_once(runtime)
            if time.monotonic() - last_purge >= RETENTION_EVERY:
                last_purge = time.monotonic()
                await privacy.run_retention(runtime)
            pause = await until_next_post(runtime, interval, posts.utcnow())
        except Exception:  # one bad round must not stop follow-ups and purges for good
            log.exception("maintenance round failed")
        await asyncio.sleep(pause)


def start(runtime: Runtime) -> asyncio.Task[None]:
    return asyncio.create_task(loop(runtime), name="peerline-maintenance")


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
