"""Recording what one Bot API call of the delivery worker came to, in one short transaction.

Sent: the row, and any rows sent together with it (bot/delivery_combine.py), are marked sent
with the message id. Otherwise those rows go back behind it unattempted, and the row is
postponed (flood control: not counted), retried later, or given up on (a dead letter), when
`on_dead` records what that means (a client who blocked the bot is unsubscribed...) in a
savepoint, so a failing hook never leaves the row to be sent again.

Logs carry the outbox id, the method and the error class: never text, chat ids or the token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery_errors import Outcome
from bot.services import outbox_claim, outbox_results
from bot.services.outbox_claim import Delivery

log = logging.getLogger("bot.delivery")

OnDead = Callable[[AsyncSession, Delivery, str], Awaitable[None]]


async def record_outcome(
    session: AsyncSession,
    delivery: Delivery,
    outcome: Outcome,
    *,
    now: datetime,
    retry_delay: float | None,
    worker_id: int | None,
    on_dead: OnDead | None,
) -> str:
    """Record the outcome; returns what was recorded: sent, postpone, retry or dead.
    `retry_delay` None: no attempts left, so a "retry" is recorded dead."""
    kind = outcome.kind
    if delivery.together and kind != "sent":  # not tried alone: behind the head again
        await outbox_claim.release(session, delivery.together, now=now, worker_id=worker_id)
    if kind == "sent":
        for row_id in (delivery.id, *delivery.together):
            await outbox_results.mark_sent(session, row_id, outcome.message_id, now=now)
    elif kind == "postpone":
        await outbox_results.postpone(
            session, delivery.id, delay_seconds=outcome.delay, error=outcome.error, now=now
        )
    elif kind == "retry" and retry_delay is not None:
        await outbox_results.mark_retry(
            session, delivery.id, delay_seconds=retry_delay, error=outcome.error, now=now
        )
    else:
        kind = "dead"
        if await outbox_results.mark_dead(session, delivery.id, outcome.error) and on_dead:
            await _after_dead(session, delivery, outcome.error, on_dead)
    return kind


async def _after_dead(
    session: AsyncSession, delivery: Delivery, error: str, on_dead: OnDead
) -> None:
    try:
        async with session.begin_nested():
            await on_dead(session, delivery, error)
    except Exception as exc:
        log.error("outbox %d: after-failure step failed: %s", delivery.id, type(exc).__name__)


def log_outcome(delivery: Delivery, kind: str, error: str) -> None:
    error_class = error.split(":", 1)[0]
    if kind == "sent":
        log.debug("outbox %d %s sent", delivery.id, delivery.method)
    elif kind == "dead":
        log.warning("outbox %d %s gave up: %s", delivery.id, delivery.method, error_class)
    else:
        log.info(
            "outbox %d %s %s: %s (attempt %d)",
            delivery.id,
            delivery.method,
            "postponed" if kind == "postpone" else "will retry",
            error_class,
            delivery.attempts + 1,
        )
