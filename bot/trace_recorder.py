"""Every message the bot puts in a private chat is recorded (bot/services/traces.py), on every
path: screens, replies, relays, outbox notices. Hooked in where python-telegram-bot lets code
see every Bot API call and its result: the rate-limiter interface."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import BaseRateLimiter

from bot.delivery_pacing import WORKER_CALL
from bot.runtime import Runtime
from bot.services import traces

log = logging.getLogger(__name__)

# Calls that put a new message in a chat (edits keep their message id).
SENDING = frozenset(
    {
        "sendMessage",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendAnimation",
        "sendVideoNote",
        "sendSticker",
        "sendLocation",
        "sendContact",
        "sendPoll",
        "sendMediaGroup",
    }
)


class TraceRecorder(BaseRateLimiter[None]):
    """Passes every call through unchanged; records the messages it put in private chats."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        result = await callback(*args, **kwargs)
        if endpoint in SENDING and not WORKER_CALL.get():
            self.runtime.note_send()  # the worker's pacing counts it (bot/delivery_pacing.py)
        if endpoint in SENDING:
            chat_id = _private_chat(data.get("chat_id"))
            if chat_id is not None:
                await self._record(chat_id, _message_ids(result))
        return result

    async def _record(self, chat_id: int, message_ids: list[int]) -> None:
        if not message_ids:
            return
        runtime = self.runtime
        try:
            async with runtime.transaction() as session:
                await traces.record(session, runtime.keys.client_key(chat_id), message_ids)
        except Exception as exc:  # the message is out already: never fail its sender for this
            log.warning("could not record a sent message for /hide: %s", type(exc).__name__)


def _private_chat(chat_id: object) -> int | None:
    """Private chats have the person's (positive) id; groups and channels are negative."""
    try:
        value = int(str(chat_id))
    except ValueError:
        return None
    return value if value > 0 else None


def _message_ids(result: object) -> list[int]:
    items = result if isinstance(result, list) else [result]
    return [
        int(item["message_id"]) for item in items if isinstance(item, dict) and "message_id" in item
    ]
