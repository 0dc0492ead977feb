"""Periodic work of the bot process: referral follow-ups and long-wait alerts.

Everything it sends goes through the outbox, so a restart loses nothing; claims are
conditional updates, so several bot processes never ask or alert twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.callbacks import encode
from bot.i18n import N_
from bot.runtime import Runtime
from bot.services import alerts, clients, followup, relay, staff

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
    if queued:
        runtime.outbox_ready()
    return queued


async def loop(runtime: Runtime, *, interval: float = 60.0) -> None:
    """Run `run_once` every `interval` seconds until cancelled; errors are logged, not fatal."""
    while True:
        try:
            await run_once(runtime)
        except Exception:
            log.exception("maintenance round failed")
        await asyncio.sleep(interval)


def start(runtime: Runtime) -> asyncio.Task[None]:
    return asyncio.create_task(loop(runtime), name="peerline-maintenance")


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
