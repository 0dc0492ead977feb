"""What a failed Bot API call means for its outbox row: retry, postpone, or give up.

- `RetryAfter`: the row waits `retry_after`, not counted as a failure; the whole worker pauses
  as long (flood control is Telegram asking us to slow down); from a group or channel only
  that chat waits (its own per-chat limit: a held-back channel post must not hold back
  replies to clients);
- no connection (the request never left: connect error, connect/pool timeout): not counted;
  the worker pauses with its own exponential backoff, so an outage never kills messages;
- 5xx, read timeouts and other network errors: counted, retried with backoff, dead after
  `max_attempts`. A read timeout is ambiguous (Telegram may have delivered it): the retry can
  then show the message twice, which beats losing it;
- `Forbidden` (blocked by the user), `BadRequest`, `ChatMigrated`, an unknown method, or
  parameters PTB cannot send: dead, never tried again;
- a revoked token (`InvalidToken`): everything waits for the operator; nothing is lost.

Error texts carry the error class (and Telegram's description for a bad request), never the
message text, a chat id or the token; outbox_results.short_error masks what it stores.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timedelta

import httpx
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

# httpx errors after which the request certainly never reached Telegram.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | retry | postpone | dead
    message_id: int | None = None
    error: str = ""
    delay: float = 0.0  # postpone: how long the row waits
    pause: float = 0.0  # postpone: how long the whole worker waits
    # postpone: only this chat waits `delay` (a group's or channel's own limit)
    hold_chat: bool = False
    # postpone: no connection; the worker sets `delay` and `pause` from its outage backoff
    offline: bool = False


def classify(exc: Exception, chat_id: int) -> Outcome:
    """The outcome of a call to `chat_id` that raised `exc` (see the module docstring)."""
    if isinstance(exc, RetryAfter):
        seconds = retry_after_seconds(exc)
        if chat_id < 0:  # a group's or channel's limit (about 20 a minute): only it waits
            return Outcome("postpone", error="RetryAfter", delay=seconds, hold_chat=True)
        return Outcome("postpone", error="RetryAfter", delay=seconds, pause=seconds)
    if isinstance(exc, Forbidden):
        return Outcome("dead", error="Forbidden")
    if isinstance(exc, ChatMigrated):  # the group became a supergroup: its id must change
        return Outcome("dead", error="ChatMigrated")
    if isinstance(exc, BadRequest):
        return Outcome("dead", error=f"BadRequest: {exc.message}")
    if isinstance(exc, EndPointNotFound):
        return Outcome("dead", error="EndPointNotFound")
    if isinstance(exc, InvalidToken):  # a revoked token: wait for the operator, lose nothing
        return Outcome("postpone", error="InvalidToken", delay=60.0, pause=60.0)
    if isinstance(exc, NetworkError):
        if isinstance(exc.__cause__, NOT_SENT):
            return Outcome("postpone", error=type(exc).__name__, offline=True)
        return Outcome("retry", error=f"{type(exc).__name__}: {exc.message}")
    if isinstance(exc, TelegramError):
        return Outcome("retry", error=type(exc).__name__)
    if isinstance(exc, (TypeError, ValueError)):  # parameters PTB cannot send: never will
        return Outcome("dead", error=type(exc).__name__)
    return Outcome("retry", error=type(exc).__name__)


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # int vs timedelta: PTB 22 warns on reading it
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return max(seconds, 1.0)
