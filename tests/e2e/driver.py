"""Drive the local Telegram Bot API emulator (emulator/server.js) and real bot processes.

Three pieces, all bounded in time (no wait is longer than MAX_WAIT seconds):

* `Emulator`: starts/stops `node emulator/server.js` on a free loopback port and wraps its
  control API (`/_test/...`). The bot under test is pointed at `Emulator.api_root`.
* `TelegramUser`: plays one Telegram user in one chat. It sends texts/commands/stickers/photos/
  documents, presses inline buttons by label or callback_data, and waits for what the bot sends.
  Messages the bot edits in place are seen as the new state of the same message_id.
* `BotProcess` / `start_bot()`: runs the bot (`python -m bot run` by default) as a subprocess
  with the PEERLINE_* environment, logs its output to a file, waits until it is polling or has
  set its webhook, and stops it with SIGINT -> SIGTERM -> SIGKILL.

Everything talks to 127.0.0.1 only, with `trust_env=False` so proxy variables cannot reroute it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeAlias, TypeVar

import httpx

E2E_DIR = Path(__file__).resolve().parent
EMULATOR_DIR = E2E_DIR / "emulator"
REPO_ROOT = E2E_DIR.parent.parent
LOOPBACK = "127.0.0.1"

# The longest any single wait may take; callers may ask for less, never for more.
MAX_WAIT = 15.0
# The longest `keep_waiting` may repeat bounded waits: for work the bot does on a schedule
# (a post due in a minute), never for a reply to a user.
LONG_WAIT = 180.0
# One control long-poll is at most this long, so a wait can notice a dead bot between polls.
_POLL_SLICE = 3.0


T = TypeVar("T")
# Bot API methods that put a new message into a chat.
SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage")


class HarnessError(RuntimeError):
    """The emulator or the bot process misbehaved (failed to start, control call rejected...)."""


class BotDidNotRespond(AssertionError):
    """A wait ran out. The message lists what the bot did send, and the bot's log tail."""


def _cap(timeout: float) -> float:
    return max(0.0, min(float(timeout), MAX_WAIT))


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (for the bot's webhook server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def new_token(bot_id: int | None = None) -> str:
    """A fresh token in @BotFather's shape (digits:35+ url-safe chars). The emulator keys all
    state by token, so a new token per bot gives each test its own clean Telegram."""
    bot_id = bot_id or 7_000_000_000 + secrets.randbelow(999_999_999)
    return f"{bot_id}:{secrets.token_urlsafe(27)}"


def emulator_unavailable_reason() -> str | None:
    """Why the e2e tests cannot run here, or None if they can."""
    if shutil.which("node") is None:
        return "e2e: `node` is not on PATH (install Node.js >= 18 to run the Telegram emulator)"
    if not (EMULATOR_DIR / "node_modules").is_dir():
        return f"e2e: run `npm ci` in {EMULATOR_DIR} first (node_modules is missing)"
    return None


async def keep_waiting(wait: Callable[[], Awaitable[T]], *, total: float) -> T:
    """Repeats a bounded wait (e.g. `lambda: channel.wait_for_post(text)`) until it succeeds or
    `total` seconds (at most LONG_WAIT) have passed; the last failure is raised then. Each
    round is an ordinary wait, so a dead bot is still noticed within MAX_WAIT."""
    deadline = time.monotonic() + max(0.0, min(float(total), LONG_WAIT))
    while True:
        try:
            return await wait()
        except BotDidNotRespond:
            if time.monotonic() >= deadline:
                raise


def _tail(path: Path | None, lines: int) -> str:
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


# ------------------------------------------------------------------------------------------
# What the user sees
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class BotMessage:
    """One bot message as the user's phone shows it at some moment (after a send or an edit).

    `text` is the plain text (or the caption for media), with HTML already rendered away, as
    the user reads it; `html` is the source the bot sent with parse_mode=HTML (else None).
    """

    message_id: int
    chat_id: int
    text: str
    html: str | None
    entities: list[dict[str, Any]]
    buttons: list[list[Button]]
    reply_keyboard: dict[str, Any] | None
    event: str  # "sent" | "edited" | "deleted" | "current"
    deleted: bool
    edit_date: int | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(
        cls,
        message: dict[str, Any],
        *,
        event: str,
        html: str | None = None,
        reply_keyboard: dict[str, Any] | None = None,
        deleted: bool = False,
    ) -> BotMessage:
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        buttons = [
            [Button(b["text"], b.get("callback_data"), b.get("url"), raw=b) for b in row]
            for row in rows
        ]
        return cls(
            message_id=message["message_id"],
            chat_id=message["chat"]["id"],
            text=message.get("text", message.get("caption", "")),
            html=html,
            entities=message.get("entities") or message.get("caption_entities") or [],
            buttons=buttons,
            reply_keyboard=reply_keyboard,
            event=event,
            deleted=deleted,
            edit_date=message.get("edit_date"),
            raw=message,
        )

    @property
    def button_rows(self) -> list[list[str]]:
        """Inline keyboard labels, row by row."""
        return [[b.text for b in row] for row in self.buttons]

    @property
    def button_texts(self) -> list[str]:
        return [b.text for row in self.buttons for b in row]

    @property
    def callback_rows(self) -> list[list[str | None]]:
        return [[b.callback_data for b in row] for row in self.buttons]

    @property
    def has_keyboard(self) -> bool:
        return bool(self.buttons)

    def button(self, label_or_data: str) -> Button:
        """The button with this exact label, else with this callback_data."""
        flat = [b for row in self.buttons for b in row]
        for b in flat:
            if b.text == label_or_data:
                return b
        for b in flat:
            if b.callback_data == label_or_data:
                return b
        raise AssertionError(
            f"message {self.message_id} has no button {label_or_data!r}; it has {self.button_rows}"
        )

    def describe(self) -> str:
        kb = f" buttons={self.button_rows}" if self.buttons else ""
        return f"#{self.message_id} [{self.event}] {self.text!r}{kb}"


@dataclass(frozen=True)
class CallbackPress:
    """A button press that was delivered to the bot as a callback_query update."""

    callback_query_id: str
    update_id: int
    message_id: int
    data: str


Match: TypeAlias = "str | re.Pattern[str] | Callable[[BotMessage], bool] | None"


def _matches(msg: BotMessage, match: Any) -> bool:
    if match is None:
        return True
    if isinstance(match, str):
        return match in msg.text
    if isinstance(match, re.Pattern):
        return match.search(msg.text) is not None
    return bool(match(msg))


def _describe_match(match: Any) -> str:
    if match is None:
        return "any message"
    if isinstance(match, str):
        return f"a message containing {match!r}"
    if isinstance(match, re.Pattern):
        return f"a message matching /{match.pattern}/"
    return f"a message satisfying {getattr(match, '__name__', repr(match))}"


# ------------------------------------------------------------------------------------------
# The emulator process and its control API
# ------------------------------------------------------------------------------------------


class Emulator:
    """A running `node emulator/server.js`. Start with `Emulator.start(log_path)`."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.log_path = log_path

    # Addresses -----------------------------------------------------------------------------
    @property
    def api_root(self) -> str:
        """The Bot API root: the bot calls `<api_root>/bot<token>/<method>`."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def base_url(self) -> str:
        """For PTB's `ApplicationBuilder().base_url(...)`."""
        return f"{self.api_root}/bot"

    @property
    def base_file_url(self) -> str:
        """For PTB's `ApplicationBuilder().base_file_url(...)` (files are not emulated)."""
        return f"{self.api_root}/file/bot"

    # Process -------------------------------------------------------------------------------
    @classmethod
    def start(cls, log_path: Path, *, node: str = "node", timeout: float = MAX_WAIT) -> Emulator:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("wb")
        try:
            proc = subprocess.Popen(
                # Port 0: the server picks a free port and prints it, so there is no race.
                [node, "server.js", "--port", "0", "--parent-pid", str(os.getpid())],
                cwd=EMULATOR_DIR,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()  # the child has its own handle
        deadline = time.monotonic() + _cap(timeout)
        port = None
        while time.monotonic() < deadline:
            m = re.search(r"TG_EMULATOR_LISTENING port=(\d+)", log_path.read_text(errors="replace"))
            if m:
                port = int(m.group(1))
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        emu = cls(proc, port or 0, log_path)
        if port is None:
            emu.stop()
            raise HarnessError(
                f"Telegram emulator did not start (exit code {proc.returncode}); log:\n"
                f"{_tail(log_path, 40)}"
            )
        emu.control_sync("health")  # answers -> ready
        return emu

    def is_running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode

    def log_tail(self, lines: int = 60) -> str:
        return _tail(self.log_path, lines)

    # Control API ---------------------------------------------------------------------------
    def _unwrap(self, name: str, resp: httpx.Response) -> Any:
        try:
            body = resp.json()
        except ValueError as exc:
            raise HarnessError(
                f"emulator /_test/{name}: HTTP {resp.status_code} {resp.text!r}"
            ) from exc
        if not body.get("ok"):
            raise HarnessError(f"emulator /_test/{name}: {body.get('description')}")
        return body.get("result")

    async def control(self, name: str, **params: Any) -> Any:
        """POST /_test/<name> with JSON params; returns `result` or raises HarnessError."""
        wait = float(params.get("timeout") or 0)
        async with httpx.AsyncClient(trust_env=False, timeout=wait + 10) as client:
            resp = await client.post(f"{self.api_root}/_test/{name}", json=params)
        return self._unwrap(name, resp)

    def control_sync(self, name: str, **params: Any) -> Any:
        wait = float(params.get("timeout") or 0)
        with httpx.Client(trust_env=False, timeout=wait + 10) as client:
            resp = client.post(f"{self.api_root}/_test/{name}", json=params)
        return self._unwrap(name, resp)

    async def bot_api(self, token: str, method: str, **params: Any) -> dict[str, Any]:
        """Calls the emulated Bot API as a bot would (JSON body); returns the whole envelope."""
        async with httpx.AsyncClient(trust_env=False, timeout=MAX_WAIT + 60) as client:
            resp = await client.post(f"{self.api_root}/bot{token}/{method}", json=params)
        return resp.json()  # type: ignore[no-any-return]

    async def reset(self, token: str | None = None) -> None:
        """Forgets one bot's chats/messages/updates (or every bot's)."""
        await self.control("reset", **({"token": token} if token else {}))

    async def state(self, token: str) -> dict[str, Any]:
        """Webhook, pending updates, chats, commands and descriptions the bot set, cursors."""
        return await self.control("state", token=token)  # type: ignore[no-any-return]

    async def calls(
        self, token: str, method: str | None = None, since: int = 0, timeout: float = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Bot API calls the bot made after cursor `since`: (calls, new cursor). Each call is
        {seq, time, method, params, ok, result | error_code+description}; ok is None while
        the call is still in flight (a waiting getUpdates)."""
        params: dict[str, Any] = {"token": token, "since": since, "timeout": _cap(timeout)}
        if method:
            params["method"] = method
        r = await self.control("calls", **params)
        return r["calls"], r["cursor"]

    async def wait_for_call(
        self,
        token: str,
        method: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        since: int = 0,
        timeout: float = 10,
    ) -> dict[str, Any]:
        """The first call of `method` after cursor `since` (with `predicate(call)` true)."""
        deadline = time.monotonic() + _cap(timeout)
        while True:
            remaining = deadline - time.monotonic()
            calls, _ = await self.calls(
                token, method, since, timeout=min(max(remaining, 0), _POLL_SLICE)
            )
            for call in calls:
                if call["ok"] is None:
                    continue  # still in flight (a long poll); look again when it completes
                since = max(since, call["seq"])
                if predicate is None or predicate(call):
                    return call
            if any(c["ok"] is None for c in calls):
                await asyncio.sleep(0.05)
            if remaining <= 0:
                raise BotDidNotRespond(f"the bot did not call {method} within {timeout}s")

    async def sends_to(
        self,
        token: str,
        chat_id: int | str,
        methods: Sequence[str] = SEND_METHODS,
        *,
        text: str | None = None,
    ) -> list[dict[str, Any]]:
        """The bot's successful calls of `methods` into chat `chat_id` (its id or "@username"),
        oldest first; with `text`, only messages whose rendered text or caption equals it
        (copies and forwards return no text, so a text filter leaves them out)."""
        calls, _ = await self.calls(token)
        wanted = {m.lower() for m in methods}
        found = []
        for call in calls:
            if not call["ok"] or call["method"].lower() not in wanted:
                continue
            result = call.get("result")
            message = result if isinstance(result, dict) and "chat" in result else None
            to = {str(call["params"].get("chat_id"))}
            if message is not None:
                to.add(str(message["chat"]["id"]))
            if str(chat_id) not in to:
                continue
            if text is not None and (
                message is None or message.get("text", message.get("caption")) != text
            ):
                continue
            found.append(call)
        return found

    async def bot_user(self, token: str) -> dict[str, Any]:
        """The bot's User as getMe answers it (username included)."""
        return await self.control("bot", token=token)  # type: ignore[no-any-return]

    def user(self, token: str, **kwargs: Any) -> TelegramUser:
        return TelegramUser(self, token, **kwargs)

    async def create_channel(
        self,
        token: str,
        chat_id: int,
        title: str,
        *,
        username: str | None = None,
        admins: Sequence[TelegramUser | dict[str, Any]] = (),
        creator: TelegramUser | int | None = None,
        bot: BotProcess | None = None,
    ) -> TelegramChannel:
        """A channel (chat_id -100..., `username` makes it public) administered by `admins`
        (the owner is `creator`, default the first admin). The bot is not in it yet: one of the
        admins adds it with `TelegramChannel.add_bot`."""
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "title": title,
            "admins": [a.as_dict() if isinstance(a, TelegramUser) else a for a in admins],
        }
        if username is not None:
            params["username"] = username
        if creator is not None:
            params["creator"] = creator.id if isinstance(creator, TelegramUser) else creator
        chat = await self.control("channel", token=token, **params)
        return TelegramChannel(self, token, chat, bot=bot)


# ------------------------------------------------------------------------------------------
# Chats as people see them: a Telegram user's chat with the bot, a channel
# ------------------------------------------------------------------------------------------


class ChatReader:
    """What the bot shows in one chat, read in order through a cursor (base of TelegramUser and
    TelegramChannel).

    `wait_for_message` returns the first matching bot message sent or edited *after* the
    previous one it returned, so a test reads the chat in order. Call `skip_pending()` to ignore
    everything the bot did so far.
    """

    emulator: Emulator
    token: str
    bot: BotProcess | None
    _cursor: int

    @property
    def chat_id(self) -> int:
        raise NotImplementedError

    async def _control(self, name: str, **params: Any) -> Any:
        return await self.emulator.control(name, token=self.token, **params)

    # Reading -------------------------------------------------------------------------------
    async def wait_for_message(
        self,
        match: Match = None,
        *,
        timeout: float = 10,
        kinds: Sequence[str] = ("sent", "edited"),
    ) -> BotMessage:
        """The next bot message, sent or edited after the cursor, that matches `match` (a
        substring of the text, a compiled regex, or a predicate on BotMessage). An edit
        yields the message's new state (same message_id, event="edited")."""
        deadline = time.monotonic() + _cap(timeout)
        seen: list[BotMessage] = []
        while True:
            remaining = deadline - time.monotonic()
            r = await self._control(
                "events",
                chat_id=self.chat_id,
                since=self._cursor,
                timeout=min(max(remaining, 0), _POLL_SLICE),
            )
            for ev in r["events"]:
                self._cursor = ev["seq"]
                msg = BotMessage.from_raw(
                    ev["message"],
                    event=ev["kind"],
                    html=ev.get("html"),
                    reply_keyboard=ev.get("reply_keyboard"),
                    deleted=ev["kind"] == "deleted",
                )
                if ev["kind"] in kinds and _matches(msg, match):
                    return msg
                seen.append(msg)  # skipped (consumed), but reported if the wait fails
            if remaining <= 0:
                await self._fail(
                    f"waited {timeout}s for {_describe_match(match)} in chat {self.chat_id}",
                    timeout,
                    seen,
                )
            self._check_bot_alive()

    async def wait_for_edit(
        self, message: BotMessage | int, match: Match = None, *, timeout: float = 10
    ) -> BotMessage:
        """The next edit of this message (its new state), optionally matching `match`."""
        mid = message.message_id if isinstance(message, BotMessage) else int(message)

        def is_edit(m: BotMessage) -> bool:
            return m.message_id == mid and _matches(m, match)

        is_edit.__name__ = f"edit of message {mid}" + (
            f" ({_describe_match(match)})" if match else ""
        )
        return await self.wait_for_message(is_edit, timeout=timeout, kinds=("edited",))

    async def wait_for_deletion(self, message: BotMessage | int, *, timeout: float = 10) -> None:
        mid = message.message_id if isinstance(message, BotMessage) else int(message)

        def is_it(m: BotMessage) -> bool:
            return m.message_id == mid

        is_it.__name__ = f"deletion of message {mid}"
        await self.wait_for_message(is_it, timeout=timeout, kinds=("deleted",))

    async def expect_silence(self, seconds: float = 1.0) -> None:
        """Asserts the bot sends/edits nothing in this chat for `seconds`."""
        r = await self._control(
            "events", chat_id=self.chat_id, since=self._cursor, timeout=_cap(seconds)
        )
        events = [e for e in r["events"] if e["kind"] in ("sent", "edited")]
        if events:
            got = [BotMessage.from_raw(e["message"], event=e["kind"]).describe() for e in events]
            raise AssertionError(f"expected no bot output, got: {got}")

    async def skip_pending(self) -> None:
        """Moves the cursor past everything the bot has done so far."""
        st = await self.emulator.state(self.token)
        self._cursor = st["event_cursor"]

    async def bot_messages(self, *, include_deleted: bool = False) -> list[BotMessage]:
        """Current state of the bot's messages in this chat, oldest first."""
        records = await self._control("transcript", chat_id=self.chat_id)
        return [
            BotMessage.from_raw(
                r["message"],
                event="current",
                html=r["html"],
                reply_keyboard=r["reply_keyboard"],
                deleted=r["deleted"],
            )
            for r in records
            if r["sender"] == "bot" and (include_deleted or not r["deleted"])
        ]

    async def last_bot_message(self, *, with_keyboard: bool = False) -> BotMessage | None:
        """The newest (not deleted) bot message in this chat, in its current state."""
        msgs = [m for m in await self.bot_messages() if m.has_keyboard or not with_keyboard]
        return msgs[-1] if msgs else None

    async def get_message(self, message_id: int) -> BotMessage:
        """Current state of one bot message (raises if there is none with that id)."""
        for m in await self.bot_messages(include_deleted=True):
            if m.message_id == message_id:
                return m
        raise AssertionError(f"no bot message {message_id} in chat {self.chat_id}")

    # Diagnostics ---------------------------------------------------------------------------
    def _check_bot_alive(self) -> None:
        if self.bot is not None and not self.bot.is_running():
            raise BotDidNotRespond(
                f"the bot process exited with code {self.bot.returncode}; log tail:\n"
                f"{self.bot.log_tail(40)}"
            )

    async def _fail(
        self, what: str, timeout: float, seen: list[BotMessage] | None = None
    ) -> NoReturn:
        lines = [what + "."]
        if seen:
            lines.append("Bot output during the wait: " + "; ".join(m.describe() for m in seen))
        else:
            lines.append("The bot sent/edited nothing in this chat during the wait.")
        with contextlib.suppress(Exception):
            current = await self.bot_messages()
            if current:
                lines.append("Chat now: " + "; ".join(m.describe() for m in current[-5:]))
        if self.bot is not None:
            state = "running" if self.bot.is_running() else f"exited {self.bot.returncode}"
            lines.append(
                f"Bot process {state}; log tail ({self.bot.log_path}):\n{self.bot.log_tail(30)}"
            )
        raise BotDidNotRespond("\n".join(lines))

    async def bot_sends(
        self, methods: Sequence[str] = SEND_METHODS, *, text: str | None = None
    ) -> list[dict[str, Any]]:
        """Every successful Bot API call that put a new bot message into this chat (also ones
        deleted later), oldest first; with `text`, only those whose text/caption (as rendered
        for the reader, HTML removed) is exactly that. Counts duplicates a transcript hides."""
        return await self.emulator.sends_to(self.token, self.chat_id, methods, text=text)


_user_ids = itertools.count(500_000_001)


class TelegramUser(ChatReader):
    """One Telegram user talking to one bot in one chat (their private chat by default).

    Bot output is read through a cursor: `wait_for_message` returns the first matching bot
    message sent or edited *after* the previous one it returned, so a test reads the
    conversation in order. Call `skip_pending()` to ignore everything the bot said so far.
    """

    def __init__(
        self,
        emulator: Emulator,
        token: str,
        *,
        user_id: int | None = None,
        first_name: str = "Alex",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        chat: dict[str, Any] | None = None,
        bot: BotProcess | None = None,
    ) -> None:
        self.emulator = emulator
        self.token = token
        self.id = user_id if user_id is not None else next(_user_ids)
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        # None = the user's private chat with the bot; or a group, e.g.
        # {"id": -1001234, "type": "supergroup", "title": "Consultants"}
        self.chat = chat
        self.bot = bot  # only used to put the bot's log tail into timeout errors
        self._cursor = 0

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"]) if self.chat else self.id

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d

    # Sending -------------------------------------------------------------------------------
    async def open_chat(self) -> None:
        """Makes the chat known to Telegram without sending anything (so the bot can write
        first, as it could to someone who started it earlier)."""
        await self._control("chat", user=self.as_dict(), chat=self.chat)

    async def send(self, **content: Any) -> dict[str, Any]:
        """Sends a message with raw control fields (text, entities, sticker, photo, document,
        caption, reply_to_message_id, extra). Returns the Message the bot receives."""
        r = await self._control("message", user=self.as_dict(), chat=self.chat, **content)
        return r["message"]  # type: ignore[no-any-return]

    async def send_text(
        self,
        text: str,
        *,
        reply_to: int | BotMessage | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Sends text. A text starting with "/" gets a bot_command entity, like Telegram apps."""
        content: dict[str, Any] = {"text": text}
        if entities is not None:
            content["entities"] = entities
        if reply_to is not None:
            content["reply_to_message_id"] = (
                reply_to.message_id if isinstance(reply_to, BotMessage) else int(reply_to)
            )
        return await self.send(**content)

    async def send_command(self, command: str, args: str | None = None) -> dict[str, Any]:
        """`send_command("start", "ref42")` sends "/start ref42"."""
        text = command if command.startswith("/") else f"/{command}"
        return await self.send_text(f"{text} {args}" if args else text)

    async def send_sticker(self, emoji: str = "\N{THUMBS UP SIGN}") -> dict[str, Any]:
        return await self.send(sticker={"emoji": emoji})

    async def send_photo(self, caption: str | None = None) -> dict[str, Any]:
        return await self.send(photo=True, **({"caption": caption} if caption is not None else {}))

    async def send_document(
        self,
        file_name: str = "file.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
    ) -> dict[str, Any]:
        extra = {"caption": caption} if caption is not None else {}
        return await self.send(document={"file_name": file_name, "mime_type": mime_type}, **extra)

    async def block_bot(self) -> None:
        """The user blocks the bot: my_chat_member update, and sends to them get 403."""
        await self._control("block", user=self.as_dict(), blocked=True)

    async def unblock_bot(self) -> None:
        await self._control("block", user=self.as_dict(), blocked=False)

    # Buttons -------------------------------------------------------------------------------
    async def press(
        self, button: str, on: BotMessage | int | None = None, *, timeout: float = 10
    ) -> CallbackPress:
        """Presses an inline button by exact label (else callback_data) on message `on`
        (a BotMessage or message_id; default: the newest bot message that has buttons).
        The emulator looks the button up in the message's *current* keyboard, as a phone would,
        and fails if it is not there. Returns once the callback_query update exists; use
        `wait_for_edit` / `wait_for_message` for the bot's reaction."""
        if on is None:
            target = await self.last_bot_message(with_keyboard=True)
            if target is None:
                await self._fail(f"press {button!r}: the bot has shown no inline keyboard", timeout)
            message_id = target.message_id
        else:
            message_id = on.message_id if isinstance(on, BotMessage) else int(on)
        try:
            r = await self._control(
                "callback",
                user=self.as_dict(),
                chat_id=self.chat_id,
                message_id=message_id,
                button=button,
            )
        except HarnessError as exc:
            raise AssertionError(f"cannot press {button!r}: {exc}") from None
        cq = r["callback_query"]
        return CallbackPress(cq["id"], r["update_id"], message_id, cq["data"])

    async def wait_for_callback_answer(
        self, press: CallbackPress, *, timeout: float = 10
    ) -> dict[str, Any]:
        """How the bot answered the press: {"text"?, "show_alert", "url"?, "cache_time"?}."""
        deadline = time.monotonic() + _cap(timeout)
        while True:
            remaining = deadline - time.monotonic()
            answer = await self._control(
                "callback_answer",
                callback_query_id=press.callback_query_id,
                timeout=min(max(remaining, 0), _POLL_SLICE),
            )
            if answer is not None:
                return answer  # type: ignore[no-any-return]
            if remaining <= 0:
                await self._fail(f"the bot did not answerCallbackQuery for {press.data!r}", timeout)
            self._check_bot_alive()


class TelegramChannel(ChatReader):
    """A Telegram channel, as its admins and its readers see it. Create it with
    `BotProcess.create_channel()` (or `Emulator.create_channel()`).

    Its admins add the bot as an administrator or remove it (`add_bot`, `remove_bot`), which
    Telegram reports to the bot as `my_chat_member`. What the bot posts there is read like a
    user's chat: `wait_for_post` (= `wait_for_message`), `posts()` (= `bot_messages()`),
    `bot_sends()` (every successful send, to count duplicates).
    """

    def __init__(
        self,
        emulator: Emulator,
        token: str,
        chat: dict[str, Any],
        *,
        bot: BotProcess | None = None,
    ) -> None:
        self.emulator = emulator
        self.token = token
        self.chat = chat
        self.bot = bot  # only used to put the bot's log tail into timeout errors
        self._cursor = 0

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def id(self) -> int:
        return self.chat_id

    @property
    def title(self) -> str:
        return str(self.chat["title"])

    @property
    def username(self) -> str | None:
        return self.chat.get("username")

    async def add_bot(
        self,
        by: TelegramUser,
        *,
        can_post_messages: bool = True,
        can_edit_messages: bool = True,
        can_delete_messages: bool = True,
    ) -> bool:
        """`by` (an admin of the channel) makes the bot an administrator with these rights,
        or changes its rights. False if nothing changed (then Telegram sends no update)."""
        r = await self._control(
            "channel_bot",
            chat_id=self.chat_id,
            user=by.as_dict(),
            status="administrator",
            can_post_messages=can_post_messages,
            can_edit_messages=can_edit_messages,
            can_delete_messages=can_delete_messages,
        )
        return bool(r["changed"])

    async def remove_bot(self, by: TelegramUser, *, ban: bool = False) -> bool:
        """`by` removes the bot from the channel (status "left"; with `ban`, "kicked")."""
        r = await self._control(
            "channel_bot",
            chat_id=self.chat_id,
            user=by.as_dict(),
            status="kicked" if ban else "left",
        )
        return bool(r["changed"])

    async def bot_status(self) -> tuple[str, dict[str, Any] | None]:
        """The bot's status in the channel and its admin rights (None unless administrator)."""
        st = await self.emulator.state(self.token)
        chat = next(c for c in st["chats"] if c["id"] == self.chat_id)
        return chat.get("bot_status", "left"), chat.get("bot_rights")

    async def wait_for_post(
        self, match: Match = None, *, timeout: float = 10, kinds: Sequence[str] = ("sent", "edited")
    ) -> BotMessage:
        """The next post (or edit of one) in the channel after the cursor matching `match`."""
        return await self.wait_for_message(match, timeout=timeout, kinds=kinds)

    async def posts(self, *, include_deleted: bool = False) -> list[BotMessage]:
        """The channel's posts in their current state, oldest first."""
        return await self.bot_messages(include_deleted=include_deleted)


# ------------------------------------------------------------------------------------------
# The bot process
# ------------------------------------------------------------------------------------------


class BotProcess:
    """A bot subprocess wired to the emulator. Created by `start_bot()`."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        *,
        emulator: Emulator,
        token: str,
        mode: str,
        log_path: Path,
        env: dict[str, str],
        webhook_url: str | None,
        webhook_secret: str | None,
        webhook_port: int | None,
    ) -> None:
        self.proc = proc
        self.emulator = emulator
        self.token = token
        self.mode = mode
        self.log_path = log_path
        self.env = env
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.webhook_port = webhook_port

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def is_running(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        return (
            self.log_path.read_text(encoding="utf-8", errors="replace")
            if self.log_path.exists()
            else ""
        )

    def log_tail(self, lines: int = 60) -> str:
        return _tail(self.log_path, lines)

    def user(self, **kwargs: Any) -> TelegramUser:
        """A TelegramUser of this bot (timeouts then include this bot's log tail)."""
        return TelegramUser(self.emulator, self.token, bot=self, **kwargs)

    async def create_channel(self, chat_id: int, title: str, **kwargs: Any) -> TelegramChannel:
        """A channel in this bot's Telegram (see `Emulator.create_channel`)."""
        return await self.emulator.create_channel(self.token, chat_id, title, bot=self, **kwargs)

    async def username(self) -> str:
        """The bot's @username without the @ (what t.me links use)."""
        return str((await self.emulator.bot_user(self.token))["username"])

    async def wait_ready(self, since: int = 0, timeout: float = MAX_WAIT) -> None:
        """Until the bot polls (getUpdates) or has set its webhook and listens on its port."""
        deadline = time.monotonic() + _cap(timeout)
        want = "getUpdates" if self.mode == "polling" else "setWebhook"
        ready = False
        while not ready:
            remaining = deadline - time.monotonic()
            if not self.is_running():
                raise HarnessError(
                    f"bot exited with code {self.returncode} before it was ready; log tail:\n"
                    f"{self.log_tail(40)}"
                )
            if remaining <= 0:
                raise HarnessError(
                    f"bot did not call {want} within {timeout}s; log tail:\n{self.log_tail(40)}"
                )
            calls, _ = await self.emulator.calls(
                self.token, want, since, timeout=min(remaining, 1.0)
            )
            for call in calls:
                if want == "getUpdates" and call["ok"] is not False:
                    ready = True  # polling (possibly still waiting: ok is None in flight)
                elif call["ok"] and str(call["params"].get("url", "")).startswith(self.webhook_url):
                    # Peerline appends an unguessable segment to its public webhook URL.
                    ready = True
                if call["ok"] is not None:
                    since = call["seq"]
            if not ready and calls:
                await asyncio.sleep(0.05)  # an in-flight call was returned; don't spin on it
        if self.mode == "webhook":
            # PTB sets the webhook before its server listens; updates sent in between are
            # retried by the emulator anyway, but "ready" should mean ready.
            while not _port_open(self.webhook_port or 0):
                if time.monotonic() > deadline or not self.is_running():
                    raise HarnessError(
                        f"bot's webhook port {self.webhook_port} never opened; log tail:\n"
                        f"{self.log_tail(40)}"
                    )
                await asyncio.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGINT (PTB's graceful stop), then SIGTERM, then SIGKILL. Returns the exit code.

        While waiting, the emulator is asked to answer the bot's in-flight getUpdates at once:
        PTB's graceful stop otherwise waits for that long poll (10 s by default)."""
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            deadline = time.monotonic() + wait
            while self.proc.poll() is None and time.monotonic() < deadline:
                if self.mode == "polling" and sig != signal.SIGKILL:
                    with contextlib.suppress(Exception):
                        self.emulator.control_sync("release_polls", token=self.token)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=min(0.25, max(deadline - time.monotonic(), 0.01)))
        return self.proc.poll()

    async def astop(self, timeout: float = 10.0) -> int | None:
        """`stop()` without blocking the event loop (e.g. to restart the bot inside a test)."""
        return await asyncio.to_thread(self.stop, timeout)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((LOOPBACK, port)) == 0


DEFAULT_BOT_CMD = (sys.executable, "-m", "bot", "run")


async def start_bot(
    emulator: Emulator,
    *,
    data_dir: Path,
    log_path: Path,
    mode: str = "polling",
    token: str | None = None,
    cmd: Sequence[str] = DEFAULT_BOT_CMD,
    extra_env: dict[str, str] | None = None,
    webhook_path: str = "/telegram/webhook",
    ready_timeout: float = MAX_WAIT,
) -> BotProcess:
    """Starts the bot (default `python -m bot run`) against the emulator and waits until ready.

    Environment: PEERLINE_BOT_TOKEN, PEERLINE_TELEGRAM_API_URL (= emulator.api_root),
    PEERLINE_DATA_DIR, and in webhook mode PEERLINE_WEBHOOK_URL
    (http://127.0.0.1:<free port><webhook_path>), PEERLINE_WEBHOOK_LISTEN=127.0.0.1,
    PEERLINE_WEBHOOK_PORT, PEERLINE_WEBHOOK_SECRET. A random PEERLINE_SECRET_KEY is set too
    (the bot refuses weak/missing keys); `extra_env` overrides any of these.
    The process runs in `data_dir` with the repo on PYTHONPATH, so a developer's `.env` in the
    repo root cannot leak into the test; inherited PEERLINE_* variables are dropped too.
    """
    if mode not in ("polling", "webhook"):
        raise ValueError(f"mode must be 'polling' or 'webhook', not {mode!r}")
    token = token or new_token()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)

    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERLINE_")}
    env.update(
        PEERLINE_BOT_TOKEN=token,
        PEERLINE_TELEGRAM_API_URL=emulator.api_root,
        PEERLINE_DATA_DIR=str(data_dir),
        PEERLINE_SECRET_KEY=secrets.token_urlsafe(48),
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p),
        PYTHONUNBUFFERED="1",
        # httpx honours proxy variables; loopback traffic must never go through a proxy.
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    webhook_url = webhook_secret = None
    webhook_port = None
    if mode == "webhook":
        webhook_port = free_port()
        webhook_secret = secrets.token_urlsafe(32)
        path = webhook_path if webhook_path.startswith("/") else f"/{webhook_path}"
        webhook_url = f"http://{LOOPBACK}:{webhook_port}{path}"
        env.update(
            PEERLINE_WEBHOOK_URL=webhook_url,
            PEERLINE_WEBHOOK_LISTEN=LOOPBACK,
            PEERLINE_WEBHOOK_PORT=str(webhook_port),
            PEERLINE_WEBHOOK_SECRET=webhook_secret,
        )
    env.update(extra_env or {})
    webhook_url = env.get("PEERLINE_WEBHOOK_URL", webhook_url)
    if mode == "webhook":
        webhook_port = int(env["PEERLINE_WEBHOOK_PORT"])

    _, since = await emulator.calls(token)
    log = log_path.open("ab")
    try:
        proc = subprocess.Popen(
            list(cmd),
            cwd=data_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()
    bot = BotProcess(
        proc,
        emulator=emulator,
        token=token,
        mode=mode,
        log_path=log_path,
        env=env,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_port=webhook_port,
    )
    try:
        await bot.wait_ready(since=since, timeout=ready_timeout)
    except BaseException:
        await bot.astop(timeout=3)
        raise
    return bot


# ------------------------------------------------------------------------------------------
# The bot's command line and its database, as an organisation's admin uses them
# ------------------------------------------------------------------------------------------


def bot_env(data_dir: Path, secret_key: str, **extra: str) -> dict[str, str]:
    """The environment `start_bot` gives the bot, for a CLI run on the same data: inherited
    PEERLINE_* variables dropped, PEERLINE_DATA_DIR and PEERLINE_SECRET_KEY set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERLINE_")}
    env.update(
        PEERLINE_DATA_DIR=str(data_dir),
        PEERLINE_SECRET_KEY=secret_key,
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p),
        **extra,
    )
    return env


def run_cli(
    args: Sequence[str], *, data_dir: Path, secret_key: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m bot <args>` on `data_dir` (e.g. `["consultants", "add", "123", "--name",
    "Olena", "--role", "channel_admin"]`); fails with its output unless it exits 0. Start the
    bot with the same PEERLINE_DATA_DIR and PEERLINE_SECRET_KEY (extra_env) to use the data."""
    data_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=bot_env(data_dir, secret_key),
        cwd=data_dir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise HarnessError(
            f"`peerline {' '.join(args)}` exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def database_bytes(data_dir: Path) -> bytes:
    """Every byte of the bot's SQLite database (peerline.db and its -wal/-shm files). Stop the
    bot first, so the write-ahead log is checkpointed into the file."""
    files = sorted(data_dir.glob("peerline.db*"))
    if not files:
        raise HarnessError(f"no peerline.db* in {data_dir}")
    return b"".join(p.read_bytes() for p in files)


def assert_not_stored(data_dir: Path, values: Sequence[str | int]) -> None:
    """Fails if any of `values` (names, usernames, Telegram ids) appears in the database
    files as plain UTF-8: identities must be kept only encrypted or not at all."""
    blob = database_bytes(data_dir)
    found = [v for v in values if str(v).encode() in blob]
    assert not found, f"stored in the database in the clear: {found}"
