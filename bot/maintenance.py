"""Periodic work of the bot process: scheduled posts and reminders, /rota duty changes,
referral follow-ups, long-wait alerts and the daily retention purge.

Everything it sends goes through the outbox, so a restart loses nothing; claims are
conditional updates, so several bot processes never ask or alert twice.

Each job runs under its own guard (issue 12): one job that keeps failing (a bad /rota slot, a
post that cannot be rendered) used to fail the whole round, so follow-ups, alerts and the
retention purge stopped with it and message bodies were no longer deleted on schedule. Now a
failing job backs off on its own, the others keep their schedule, the last success of each is
kept in `Runtime.metrics` for /metrics, and supervisors are told once when a job starts failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.callbacks import FollowUpAnswer, Take, encode
from bot.event_reminders import send_due_reminders
from bot.i18n import N_
from bot.metrics import JobState
from bot.publishing import publish_due
from bot.runtime import Runtime
from bot.services import (
    alerts,
    clients,
    followup,
    notify,
    post_schedule,
    privacy,
    pseudonyms,
    reminders,
    rota,
    staff,
    staff_duty,
)
from bot.staff_care import duty_care, end_silent_joins, offer_debriefs

log = logging.getLogger(__name__)
RETENTION_EVERY = 24 * 3600.0  # seconds between retention purges
MAX_BACKOFF = 3600.0  # a failing job is retried at least hourly
# One failure can be a blip (a lock timeout on a busy SQLite file); two in a row are worth a
# supervisor's attention. The alert is sent once per failing spell, not once per round.
ALERT_AFTER = 2

FOLLOW_UP_BUTTONS = (
    ("helped", N_("Yes, and it helped")),
    ("not_helped", N_("I went, but it did not help")),
    ("not_reached", N_("I did not get there")),
    ("stop", N_("Do not ask me again")),
)


async def run_once(runtime: Runtime) -> int:
    """Follow-ups and long-wait alerts now; returns how many messages were queued."""
    return await send_follow_ups(runtime) + await send_wait_alerts(runtime)


async def send_follow_ups(runtime: Runtime) -> int:
    """Ask clients referred a few days ago whether they got there."""
    queued = 0
    async with runtime.transaction() as session:
        for item in await followup.claim_due(session):
            _ = runtime.i18n.get(item.language)
            buttons = [
                [
                    {
                        "text": _.gettext(label),
                        "callback_data": encode(FollowUpAnswer(item.conversation_id, key)),
                    }
                ]
                for key, label in FOLLOW_UP_BUTTONS
            ]
            await notify.send(
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
    if queued:
        runtime.outbox_ready()
    return queued


async def send_wait_alerts(runtime: Runtime) -> int:
    """Tell supervisors about requests nobody has taken for too long."""
    queued = 0
    async with runtime.transaction() as session:
        waits = await alerts.claim_long_waits(session, minutes=runtime.settings.wait_alert_minutes)
        supervisors = [m for m in await staff.list_staff(session) if m.can_supervise]
        for wait in waits:
            for member in supervisors:
                _ = runtime.i18n.get(member.languages[0] if member.languages else None)
                text = _.gettext(
                    "⏰ Client %(pseudonym)s has waited %(minutes)s min (%(topic)s, %(language)s). "
                    "Nobody has taken it yet.",
                    pseudonym=pseudonyms.render(wait.pseudonym or "?", _.language),
                    minutes=wait.minutes,
                    topic=wait.topic,
                    language=wait.language,
                )
                take = [
                    [
                        {
                            "text": _.gettext("Take it"),
                            "callback_data": encode(Take(wait.conversation_id)),
                        }
                    ]
                ]
                await notify.send(
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
            await staff_duty.set_duty(session, staff_id, True)
        for staff_id in end:
            await staff_duty.set_duty(session, staff_id, False)
    return now


async def until_next_post(runtime: Runtime, interval: float, now: datetime) -> float:
    """How long to sleep: `interval`, or less when a scheduled post or a reminder is due
    sooner (they go out on time, not up to a round later)."""
    async with runtime.transaction() as session:
        due = [
            d
            for d in (await post_schedule.next_due(session), await reminders.next_due(session))
            if d
        ]
    if not due:
        return interval
    return max(0.5, min(interval, (min(due) - now).total_seconds()))


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Runtime], Awaitable[object]]
    every: float  # seconds from one success to the next run; 0: every wake-up


def default_jobs(runtime: Runtime, interval: float) -> list[Job]:
    """The periodic jobs in the order they run within a round."""
    since = [rota.local_now(runtime.settings.timezone)]

    async def rota_job(runtime: Runtime) -> None:
        since[0] = await apply_rota(runtime, since[0])  # unchanged on failure: edges are retried

    return [
        # Every wake-up: the loop wakes early exactly when a post or a reminder is due.
        Job("publish", lambda runtime: publish_due(runtime, runtime.now()), 0.0),
        Job("reminders", lambda runtime: send_due_reminders(runtime, runtime.now()), 0.0),
        Job("rota", rota_job, interval),
        Job("follow_ups", send_follow_ups, interval),
        Job("wait_alerts", send_wait_alerts, interval),
        # Care for consultants (bot/staff_care.py): silent joins of ended conversations,
        # the debrief after an urgent one, breaks and the rest reminder.
        Job("silent_joins", end_silent_joins, interval),
        Job("debriefs", offer_debriefs, interval),
        Job("duty_care", duty_care, interval),
        Job("retention", privacy.run_retention, RETENTION_EVERY),
    ]


async def run_due(runtime: Runtime, jobs: list[Job], *, interval: float, now: float) -> None:
    """Run every job whose time has come (`now` is time.monotonic()), each on its own."""
    for job in jobs:
        state = runtime.metrics.job(job.name)
        if now >= state.next_run:
            await run_guarded(runtime, job, state, interval=interval, now=now)


async def run_guarded(
    runtime: Runtime, job: Job, state: JobState, *, interval: float, now: float
) -> bool:
    """Run one job; a failure is logged, counted and backed off, never passed on."""
    state.runs_total += 1
    try:
        await job.run(runtime)
    except Exception as exc:  # any failure of one job must not stop the others (issue 12)
        state.consecutive_failures += 1
        state.failures_total += 1
        state.last_failure = time.time()
        backoff = min(interval * 2 ** (state.consecutive_failures - 1), MAX_BACKOFF)
        state.next_run = now + backoff
        log.exception(
            "maintenance job %s failed (%d in a row); next try in %.0f s",
            job.name,
            state.consecutive_failures,
            backoff,
        )
        if state.consecutive_failures >= ALERT_AFTER and not state.alerted:
            state.alerted = await alert_job_failing(runtime, job.name, type(exc).__name__)
        return False
    if state.alerted:
        log.info("maintenance job %s works again", job.name)
    state.last_success = time.time()
    state.consecutive_failures = 0
    state.alerted = False
    state.next_run = now + job.every
    return True


async def alert_job_failing(runtime: Runtime, job: str, error: str) -> bool:
    """Queue a notice to every supervisor; True once it is queued. Only the job's name and the
    exception's type go out: an exception's message may quote a person's data."""
    try:
        async with runtime.transaction() as session:
            supervisors = [m for m in await staff.list_staff(session) if m.can_supervise]
            for member in supervisors:
                await notify.staff(
                    session,
                    runtime,
                    member,
                    lambda _: _.gettext(
                        "⚠️ The bot's periodic job “%(job)s” keeps failing (%(error)s). The other "
                        "jobs go on; it is retried with growing pauses. Please tell whoever "
                        "runs the server: the details are in the log.",
                        job=job,
                        error=error,
                    ),
                )
    except Exception:  # the database may be what is failing; the log still has it
        log.exception("could not alert supervisors that job %s is failing", job)
        return False
    runtime.outbox_ready()
    return True


async def loop(runtime: Runtime, *, interval: float = 60.0) -> None:
    """Until cancelled: each wake-up runs the jobs that are due (`default_jobs`), then sleeps
    `interval`, or less when a scheduled post or reminder is due sooner. Scheduled posts are
    read from the database each round, so a restart picks up whatever was scheduled before."""
    jobs = default_jobs(runtime, interval)
    while True:
        await run_due(runtime, jobs, interval=interval, now=time.monotonic())
        pause = interval
        try:
            pause = await until_next_post(runtime, interval, runtime.now())
        except Exception:  # only the wake-up time: fall back to the plain interval
            log.exception("could not read when the next post is due")
        await asyncio.sleep(pause)


def start(runtime: Runtime) -> asyncio.Task[None]:
    return asyncio.create_task(loop(runtime), name="peerline-maintenance")


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
