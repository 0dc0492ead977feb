"""Pacing of the delivery worker's sends: at most `overall_per_second` sends per second, and
at most one per chat per `per_chat_interval` (`per_group_interval` for groups and channels,
whose ids are negative: Telegram allows about 20 a minute there).

Telegram's ceiling (about 30 messages a second for the whole bot) counts every message, also
the screens and replies handlers send directly. Those are noted here (`note_other_send`, from
bot/trace_recorder.py), and the worker keeps the sum of both under `overall_per_second` in any
second: a broadcast runs at nearly the ceiling when nobody is pressing buttons, and makes room
when people are.

Times are on the worker's injected clock (seconds, monotonic), so tests need not wait.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

# True while the worker itself makes a call: the trace recorder then does not count it again.
WORKER_CALL: ContextVar[bool] = ContextVar("peerline_worker_call", default=False)


class Pacer:
    def __init__(
        self,
        *,
        overall_per_second: float,
        per_chat_interval: float,
        per_group_interval: float,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[Any]],
    ) -> None:
        if overall_per_second <= 0:
            raise ValueError("overall_per_second must be positive")
        self._overall_interval = 1.0 / overall_per_second
        self._per_second = max(1, int(overall_per_second))
        self._per_chat_interval = per_chat_interval
        self._per_group_interval = max(per_group_interval, per_chat_interval)
        self._clock = clock
        self._sleep = sleep
        self._next_any = 0.0  # clock time of the next allowed send
        self._next_chat: dict[int, float] = {}  # chat id -> clock time of its next send
        self._last_second: deque[float] = deque()  # every send of the last second, any sender

    def planned_start(self, chat_id: int) -> float:
        """When a send to this chat may start, by the overall and the per-chat pacing."""
        now = self._clock()
        start = max(now, self._next_any, self._next_chat.get(chat_id, 0.0))
        recent = self._recent(now)
        if len(recent) >= self._per_second:  # the bot's whole budget for this second is used
            start = max(start, recent[len(recent) - self._per_second] + 1.0)
        return start

    def note_other_send(self) -> None:
        """A message the bot sent outside the worker (a screen, a reply): it counts too."""
        self._recent(self._clock()).append(self._clock())

    def _recent(self, now: float) -> deque[float]:
        while self._last_second and self._last_second[0] <= now - 1.0:
            self._last_second.popleft()
        return self._last_second

    async def take_turn(self, chat_id: int, start: float) -> None:
        """Wait until `start` (from `planned_start`) and count the send that follows."""
        wait = start - self._clock()
        if wait > 0:
            await self._sleep(wait)
        start = max(start, self._clock())
        interval = self._per_group_interval if chat_id < 0 else self._per_chat_interval
        self._next_any = start + self._overall_interval
        self._next_chat[chat_id] = start + interval
        self._recent(start).append(start)

    def call_ended(self, chat_id: int) -> None:
        """The call to this chat got its answer: the next one waits a whole interval from now.
        Telegram saw the call somewhere between its start and its answer, so counting from
        the start alone could put two calls less than an interval apart at Telegram's end."""
        interval = self._per_group_interval if chat_id < 0 else self._per_chat_interval
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), self._clock() + interval)

    def hold(self, chat_id: int, seconds: float) -> None:
        """Send nothing more to this chat for `seconds` (its own flood control)."""
        self._next_chat[chat_id] = self._clock() + seconds

    def forget_idle_chats(self) -> None:
        if len(self._next_chat) > 1000:
            now = self._clock()
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
