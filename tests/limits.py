"""A fake Telegram that enforces Telegram's flood limits on a virtual clock.

`LimitedTelegram` answers like `tests.harness.FakeTelegram`, but a call that Telegram would
refuse for flooding is not delivered: it answers HTTP 429 with `retry_after`, the way the
Bot API does. Limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):

- at most 30 messages per second overall (a sliding one-second window);
- at most one message per second in a private chat (positive chat id);
- at most 20 messages per minute in a group or channel (negative chat id, sliding window).

Counted: the calls that put or change a message in a chat (`LIMITED`); answering callback
queries, deleting messages and the like are not. A refused call counts towards nothing.

`VirtualClock` is the one clock a test hands to both the fake and the worker (pacing clock,
database times, sleeps): nothing really sleeps, a sleep advances the clock.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram.request import RequestData

from tests.harness import BOT_USER, FakeTelegram, Sent, _rows

LIMITED = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "copyMessage",
        "editMessageText",
        "editMessageCaption",
    }
)
_EDITS = {"editMessageText": "text", "editMessageCaption": "caption"}
# Times a few microseconds apart are the same moment: the worker's pacing adds floats, and
# a send planned for exactly one second after the last must not be refused for a rounding.
EPSILON = 1e-6


class VirtualClock:
    """Seconds (`monotonic`, also when called), UTC datetimes (`now`) and `sleep`, all virtual.

    `on_sleep`, if set, is awaited after every sleep: a test's way to act "while" the worker
    waits (enqueue something in the middle of a broadcast, for instance).
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self.base = datetime(2030, 1, 1, tzinfo=UTC)
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[], Awaitable[None]] | None = None

    def monotonic(self) -> float:
        return self.t

    __call__ = monotonic

    def now(self) -> datetime:
        return self.base + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(seconds, 0.0)
        if self.on_sleep is not None:
            await self.on_sleep()
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass(frozen=True)
class Attempt:
    """One counted call as Telegram saw it: `outcome` is "ok" or the HTTP status ("429"...)."""

    at: float
    method: str
    chat_id: int
    outcome: str
    retry_after: int = 0


class LimitedTelegram(FakeTelegram):
    """`FakeTelegram` plus flood limits, blocked chats, photos and documents.

    - `rejected`: (method, chat_id, reason) of every call refused with 429; reason is
      "overall", "chat" (private chat, 1/s) or "group" (group or channel, 20/min);
    - `delivered`: chat id -> [(virtual time, text)] of what reached the chat (the text, the
      caption for photos and documents, the copy's label for copyMessage; edits included);
    - `attempts`: every counted call, delivered or not, in order (`Attempt`);
    - `forbidden`: chat ids that blocked the bot (403, never delivered).
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        forbidden: Iterable[int] = (),
        overall_per_second: int = 30,
        private_interval: float = 1.0,
        group_per_minute: int = 20,
    ) -> None:
        super().__init__()
        self.clock = clock
        self.forbidden: set[int] = set(forbidden)
        self.overall_per_second = overall_per_second
        self.private_interval = private_interval
        self.group_per_minute = group_per_minute
        self.rejected: list[tuple[str, int, str]] = []
        self.delivered: dict[int, list[tuple[float, str]]] = {}
        self.attempts: list[Attempt] = []
        self._overall: deque[float] = deque()  # accepted sends in the last second
        self._private: dict[int, float] = {}  # private chat -> its last accepted send
        self._groups: dict[int, deque[float]] = {}  # group chat -> sends in the last minute

    # --- what a test sets up or reads --------------------------------------------------------

    def existing(self, chat_id: int, text: str) -> int:
        """A message already in a chat before the test (e.g. a pinned post to edit); uncounted."""
        sent = Sent(chat_id, next(self._ids), text)
        self.messages[(chat_id, sent.message_id)] = sent
        return sent.message_id

    def texts(self, chat_id: int) -> list[str]:
        return [text for _, text in self.delivered.get(chat_id, [])]

    def calls_to(self, chat_id: int) -> list[Attempt]:
        return [a for a in self.attempts if a.chat_id == chat_id]

    # --- the Bot API ---------------------------------------------------------------------------

    async def do_request(  # type: ignore[override]
        self, url: str, method: str, request_data: RequestData | None = None, **kwargs: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        if name not in LIMITED:
            return await super().do_request(url, method, request_data, **kwargs)
        params = request_data.parameters if request_data else {}
        chat_id = int(params["chat_id"])
        now = self.clock()
        if chat_id in self.forbidden:
            return self._refuse(
                name, params, now, chat_id, 403, "Forbidden: bot was blocked by the user"
            )
        problem = self._invalid_edit(name, chat_id, params)
        if problem:
            return self._refuse(name, params, now, chat_id, 400, f"Bad Request: {problem}")
        flooded = self._flooded(chat_id, now)
        if flooded is not None:
            reason, seconds = flooded
            self.rejected.append((name, chat_id, reason))
            return self._refuse(
                name,
                params,
                now,
                chat_id,
                429,
                f"Too Many Requests: retry after {seconds}",
                retry_after=seconds,
            )
        code, payload = await super().do_request(url, method, request_data, **kwargs)
        if code != 200:  # refused by FakeTelegram itself (its `refuse`, an unknown chat...)
            self.attempts.append(Attempt(now, name, chat_id, str(code)))
            return code, payload
        self._count(chat_id, now)
        self.attempts.append(Attempt(now, name, chat_id, "ok"))
        self.delivered.setdefault(chat_id, []).append((now, self.last[chat_id].text))
        return code, payload

    def _refuse(
        self,
        name: str,
        params: dict[str, Any],
        now: float,
        chat_id: int,
        code: int,
        description: str,
        *,
        retry_after: int = 0,
    ) -> tuple[int, bytes]:
        self.calls.append((name, params))
        self.attempts.append(Attempt(now, name, chat_id, str(code), retry_after))
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after:
            body["parameters"] = {"retry_after": retry_after}
        return code, json.dumps(body).encode()

    def _invalid_edit(self, name: str, chat_id: int, params: dict[str, Any]) -> str | None:
        field = _EDITS.get(name)
        if field is None:
            return None
        old = self.messages.get((chat_id, int(params["message_id"])))
        if old is None:
            return "message to edit not found"
        if old.text == params.get(field) and old.buttons == _rows(params):
            return (
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        return None

    def _flooded(self, chat_id: int, now: float) -> tuple[str, int] | None:
        """Why Telegram would refuse a message to `chat_id` now, and its retry_after."""
        _expire(self._overall, now - 1.0)
        if len(self._overall) >= self.overall_per_second:
            return "overall", _seconds(self._overall[0] + 1.0 - now)
        if chat_id > 0:
            last = self._private.get(chat_id)
            if last is not None and now - last < self.private_interval - EPSILON:
                return "chat", _seconds(last + self.private_interval - now)
        else:
            window = self._groups.setdefault(chat_id, deque())
            _expire(window, now - 60.0)
            if len(window) >= self.group_per_minute:
                return "group", _seconds(window[0] + 60.0 - now)
        return None

    def _count(self, chat_id: int, now: float) -> None:
        self._overall.append(now)
        if chat_id > 0:
            self._private[chat_id] = now
        else:
            self._groups.setdefault(chat_id, deque()).append(now)

    def _answer(self, name: str, p: dict[str, Any]) -> Any:
        # Photos and documents: the message's text is its caption (what `delivered` shows),
        # and the answer is a whole Message with its photo or document, as Telegram's is.
        if name in ("sendPhoto", "sendDocument"):
            chat_id = int(p["chat_id"])
            sent = Sent(chat_id, next(self._ids), p.get("caption") or "", _rows(p))
            self.messages[(chat_id, sent.message_id)] = self.last[chat_id] = sent
            return _media_message(sent, name, p)
        return super()._answer(name, p)


def _expire(window: deque[float], horizon: float) -> None:
    """Drop the times at or before `horizon` (within EPSILON): out of the sliding window."""
    while window and window[0] <= horizon + EPSILON:
        window.popleft()


def _seconds(wait: float) -> int:
    """Telegram's retry_after: whole seconds, at least one."""
    return max(1, math.ceil(wait - EPSILON))


def _media_message(sent: Sent, method: str, p: dict[str, Any]) -> dict[str, Any]:
    file_id = str(p["photo" if method == "sendPhoto" else "document"])
    message: dict[str, Any] = {
        "message_id": sent.message_id,
        "date": 1_900_000_000,
        "chat": {"id": sent.chat_id, "type": "private" if sent.chat_id > 0 else "channel"},
        "from": BOT_USER,
    }
    if method == "sendPhoto":
        message["photo"] = [
            {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 1280, "height": 720}
        ]
    else:
        message["document"] = {"file_id": file_id, "file_unique_id": f"u-{file_id}"}
    if sent.text:
        message["caption"] = sent.text
    if sent.buttons:
        message["reply_markup"] = {"inline_keyboard": sent.buttons}
    return message
