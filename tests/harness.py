"""Offline Telegram for tests: a request class that answers the Bot API from memory.

Nothing here can reach the network: every Bot API call lands in `FakeTelegram.do_request`,
which records it and answers like Telegram would, refusing (400) what Telegram refuses for
its length: a text over 4,096 or a caption over 1,024 characters after entities are parsed.
`BotHarness` plays users: it sends messages and presses buttons *by their visible label*,
through `Application.process_update`.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 999000111, "is_bot": True, "first_name": "Peerline", "username": "peerline_bot"}


@dataclass
class Sent:
    """A bot message as the user's phone would show it."""

    chat_id: int
    message_id: int
    text: str
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)
    # The user's message this one replied to (as Telegram would quote it), if any.
    reply_to: dict[str, Any] | None = None

    @property
    def labels(self) -> list[str]:
        return [b["text"] for row in self.buttons for b in row]

    def data_of(self, label: str) -> str:
        for row in self.buttons:
            for button in row:
                if button["text"] == label:
                    return button["callback_data"]
        raise AssertionError(f"no button {label!r} on screen; buttons: {self.labels}")


class FakeTelegram(BaseRequest):
    """Answers Bot API methods from memory and records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.messages: dict[tuple[int, int], Sent] = {}
        self.last: dict[int, Sent] = {}  # chat id -> most recently sent or edited message
        self._ids = itertools.count(1000)
        # Channels the bot knows: chat id -> {"title", "username", "bot": status,
        # "can_post": bool, "admins": set of user ids}; see `add_channel`.
        self.channels: dict[int, dict[str, Any]] = {}
        # chat id -> (HTTP status, description): Telegram refuses every call to that chat.
        self.refuse: dict[int, tuple[int, str]] = {}
        # Polls the bot sent: poll id -> (chat id, message id, question, options), and the
        # votes Telegram would count for them (set by tests).
        self.polls: dict[str, tuple[int, int, str, list[str]]] = {}
        self.poll_votes: dict[str, list[int]] = {}
        # What users sent (by chat id and message id), so a reply can quote it.
        self.user_messages: dict[tuple[int, int], dict[str, Any]] = {}
        # Command menus as Telegram keeps them: (scope type, chat id or None, language code)
        # -> [(command, description)]; see `menu`.
        self.menus: dict[tuple[str, int | None, str], list[tuple[str, str]]] = {}
        # Button presses already answered: Telegram refuses a second answer to one.
        self.answered_queries: set[str] = set()

    def add_channel(
        self,
        chat_id: int,
        title: str,
        *,
        username: str | None = None,
        admins: set[int] | None = None,
        bot: str = "administrator",
        can_post: bool = True,
    ) -> None:
        self.channels[chat_id] = {
            "title": title,
            "username": username,
            "bot": bot,
            "can_post": can_post,
            "admins": admins or set(),
        }

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(  # type: ignore[override]
        self, url: str, method: str, request_data: RequestData | None = None, **_: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        self.calls.append((name, params))
        chat = params.get("chat_id")
        refusable = chat is not None and not name.startswith("get")
        if refusable and str(chat).lstrip("-").isdigit() and int(chat) in self.refuse:
            status, description = self.refuse[int(chat)]
            body = {"ok": False, "error_code": status, "description": description}
            return status, json.dumps(body).encode()
        try:
            check_limits(name, params)
            result = self._answer(name, params)
        except _Refused as refused:
            body = {"ok": False, "error_code": refused.status, "description": refused.description}
            return refused.status, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _answer(self, name: str, p: dict[str, Any]) -> Any:
        if name == "getMe":
            return BOT_USER
        if name == "answerCallbackQuery":
            query_id = str(p["callback_query_id"])
            if query_id in self.answered_queries:
                raise _Refused(
                    400,
                    "Bad Request: query is too old and response timeout expired or query id "
                    "is invalid",
                )
            self.answered_queries.add(query_id)
            return True
        if name == "sendMessage":
            chat_id = int(p["chat_id"])
            sent = Sent(chat_id, next(self._ids), p["text"], _rows(p))
            reply = _json(p.get("reply_parameters")) or {}
            if "message_id" in reply:
                sent.reply_to = self.user_messages.get((chat_id, int(reply["message_id"])))
            self.messages[(chat_id, sent.message_id)] = self.last[chat_id] = sent
            return self._message(sent)
        if name in ("sendPhoto", "sendDocument"):
            chat_id = int(p["chat_id"])
            kind = "photo" if name == "sendPhoto" else "document"
            # A file uploaded (a report's CSV, a chart) travels as multipart data, not as a
            # parameter: it shows as "upload".
            text = f"[{kind} {p.get(kind, 'upload')}]" + (
                " " + p["caption"] if p.get("caption") else ""
            )
            sent = Sent(chat_id, next(self._ids), text, _rows(p))
            self.messages[(chat_id, sent.message_id)] = self.last[chat_id] = sent
            return {
                "message_id": sent.message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
            }
        if name == "sendPoll":
            chat_id = int(p["chat_id"])
            options = [o["text"] if isinstance(o, dict) else o for o in _json(p["options"])]
            sent = Sent(chat_id, next(self._ids), f"[poll] {p['question']}")
            self.messages[(chat_id, sent.message_id)] = self.last[chat_id] = sent
            poll_id = f"poll{sent.message_id}"
            self.polls[poll_id] = (chat_id, sent.message_id, p["question"], options)
            return {
                "message_id": sent.message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "channel", "title": "c"},
                "poll": _poll(poll_id, p["question"], options, [0] * len(options)),
            }
        if name == "stopPoll":
            chat_id, message_id = int(p["chat_id"]), int(p["message_id"])
            for poll_id, (chat, message, question, options) in self.polls.items():
                if (chat, message) == (chat_id, message_id):
                    votes = self.poll_votes.get(poll_id, [0] * len(options))
                    return _poll(poll_id, question, options, votes, closed=True)
            raise _Refused(400, "Bad Request: message with poll to stop not found")
        if name == "editMessageReplyMarkup":
            chat_id, message_id = int(p["chat_id"]), int(p["message_id"])
            old = self.messages[(chat_id, message_id)]
            sent = Sent(chat_id, message_id, old.text, _rows(p))
            self.messages[(chat_id, message_id)] = self.last[chat_id] = sent
            return self._message(sent)
        if name == "getChat":
            return self._chat(p["chat_id"])
        if name == "getChatMember":
            chat = self._chat(p["chat_id"])
            channel = self.channels[chat["id"]]
            user_id = int(p["user_id"])
            if user_id == BOT_USER["id"]:
                member: dict[str, Any] = {"status": channel["bot"], "user": BOT_USER}
                if channel["bot"] == "administrator":
                    member.update(_admin_rights(can_post=channel["can_post"]))
                return member
            user = {"id": user_id, "is_bot": False, "first_name": "someone"}
            if user_id in channel["admins"]:
                return {"status": "administrator", "user": user, **_admin_rights(can_post=True)}
            return {"status": "left", "user": user}
        if name == "copyMessage":
            # The copy shows in the recipient's chat as a new message from the bot, with no
            # trace of who sent the original: exactly what clients and consultants must see.
            chat_id = int(p["chat_id"])
            label = f"[copy of {p['from_chat_id']}/{p['message_id']}]"
            text = (label + " " + p["caption"]) if p.get("caption") else label
            sent = Sent(chat_id, next(self._ids), text, _rows(p))
            self.messages[(chat_id, sent.message_id)] = self.last[chat_id] = sent
            return {"message_id": sent.message_id}
        if name == "editMessageText":
            chat_id, message_id = int(p["chat_id"]), int(p["message_id"])
            sent = Sent(chat_id, message_id, p["text"], _rows(p))
            self.messages[(chat_id, message_id)] = self.last[chat_id] = sent
            return self._message(sent)
        if name == "createForumTopic":
            self.topics = getattr(self, "topics", 0) + 1
            return {"message_thread_id": 500 + self.topics, "name": p["name"], "icon_color": 0}
        if name in {"editMessageCaption"}:
            chat_id, message_id = int(p["chat_id"]), int(p["message_id"])
            old = self.messages[(chat_id, message_id)]
            label = old.text.split("]", 1)[0] + "]" if old.text.startswith("[copy") else ""
            sent = Sent(chat_id, message_id, f"{label} {p['caption']}".strip(), old.buttons)
            self.messages[(chat_id, message_id)] = self.last[chat_id] = sent
            return self._message(sent)
        if name in ("deleteMessage", "deleteMessages"):
            chat_id = int(p["chat_id"])
            ids = _json(p["message_ids"]) if "message_ids" in p else [p["message_id"]]
            for message_id in ids:
                self.messages.pop((chat_id, int(message_id)), None)
                self.user_messages.pop((chat_id, int(message_id)), None)
            return True
        if name in ("setMyCommands", "deleteMyCommands"):
            scope = _json(p.get("scope")) or {"type": "default"}
            chat = scope.get("chat_id")
            key = (
                scope["type"],
                int(chat) if chat is not None else None,
                p.get("language_code", ""),
            )
            commands = [(c["command"], c["description"]) for c in _json(p.get("commands")) or []]
            if name == "setMyCommands" and commands:
                self.menus[key] = commands
            else:
                self.menus.pop(key, None)
            return True
        if name in {
            "answerCallbackQuery",
            "setMyCommands",
            "setMyDescription",
            "setMyShortDescription",
            "deleteMessage",
            "deleteMessages",
            "sendChatAction",
            "closeForumTopic",
        }:
            return True
        raise AssertionError(f"the fake Telegram does not know {name}")

    def _chat(self, reference: Any) -> dict[str, Any]:
        """A channel by id or @username, as getChat answers; unknown ones are 'not found'."""
        for chat_id, channel in self.channels.items():
            if str(reference) in (str(chat_id), f"@{channel['username']}"):
                return {
                    "id": chat_id,
                    "type": "channel",
                    "title": channel["title"],
                    "accent_color_id": 0,
                    "max_reaction_count": 11,
                    "accepted_gift_types": {
                        "unlimited_gifts": False,
                        "limited_gifts": False,
                        "unique_gifts": False,
                        "premium_subscription": False,
                        "gifts_from_channels": False,
                    },
                }
        raise _Refused(400, "Bad Request: chat not found")

    @staticmethod
    def _message(sent: Sent) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": {"id": sent.chat_id, "type": "private"},
            "from": BOT_USER,
            "text": sent.text,
        }
        if sent.buttons:
            message["reply_markup"] = {"inline_keyboard": sent.buttons}
        if sent.reply_to is not None:
            message["reply_to_message"] = sent.reply_to
        return message

    def menu(self, chat_id: int | None = None, language: str = "") -> list[str]:
        """The "/" menu a chat sees (its own if it has one, else the default), as command names."""
        own = self.menus.get(("chat", chat_id, "")) if chat_id is not None else None
        if own is not None:
            return [command for command, _ in own]
        default = self.menus.get(("default", None, language)) or self.menus.get(
            ("default", None, "")
        )
        return [command for command, _ in default or []]

    def sent_texts(self) -> list[str]:
        return [p["text"] for name, p in self.calls if name in ("sendMessage", "editMessageText")]


# Telegram's length limits, counted after the entities are parsed (HTML tags do not count).
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024
_TEXTS = {"sendMessage": "text", "editMessageText": "text"}
_CAPTIONS = frozenset(
    {"copyMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAudio", "sendVoice"}
    | {"sendAnimation", "editMessageCaption"}
)
_TAG = re.compile(r"<[^>]*>")


def shown(params: dict[str, Any], field: str) -> str:
    """A text or caption as the recipient sees it: with parse_mode HTML, tags parsed away."""
    value = str(params.get(field) or "")
    if str(params.get("parse_mode", "")).upper() == "HTML":
        value = html.unescape(_TAG.sub("", value))
    return value


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_limits(name: str, params: dict[str, Any]) -> None:
    """Refuse what Telegram refuses: an empty or too long text, a too long caption."""
    if name in _TEXTS:
        text = shown(params, "text")
        if not text.strip():
            raise _Refused(400, "Bad Request: message text is empty")
        if _units(text) > TEXT_LIMIT:
            raise _Refused(400, "Bad Request: message is too long")
    if name in _CAPTIONS and _units(shown(params, "caption")) > CAPTION_LIMIT:
        raise _Refused(400, "Bad Request: message caption is too long")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _poll(
    poll_id: str, question: str, options: list[str], votes: list[int], *, closed: bool = False
) -> dict[str, Any]:
    return {
        "id": poll_id,
        "question": question,
        "options": [
            {"text": o, "voter_count": v, "persistent_id": f"{poll_id}-{i}"}
            for i, (o, v) in enumerate(zip(options, votes, strict=True))
        ],
        "total_voter_count": sum(votes),
        "is_closed": closed,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": True,
        "members_only": False,
    }


class _Refused(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status, self.description = status, description


def _admin_rights(*, can_post: bool) -> dict[str, Any]:
    rights = dict.fromkeys(
        (
            "can_be_edited",
            "is_anonymous",
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_promote_members",
            "can_change_info",
            "can_invite_users",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
        ),
        False,
    )
    rights.update(can_post_messages=can_post, can_edit_messages=True)
    return rights


def _rows(params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return (markup or {}).get("inline_keyboard", [])


@dataclass
class FakeUser:
    id: int = 5550001234
    first_name: str = "Zoryana"
    last_name: str = "Canaryfield"
    username: str = "canary_user_8x"
    language_code: str | None = "ru"

    def as_dict(self) -> dict[str, Any]:
        user = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        user.update(last_name=self.last_name, username=self.username)
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}


class BotHarness:
    def __init__(self, app: Application, telegram: FakeTelegram) -> None:
        self.app = app
        self.telegram = telegram
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._last_user_message_id = 0

    async def feed(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self._update_ids)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        await self.deliver()

    async def deliver(self) -> None:
        """Run the outbox worker until nothing is due (relays, notifications)."""
        # A bare python-telegram-bot app (the benchmark's baseline) has no worker.
        delivery = getattr(self.app.bot_data, "delivery", None)
        if delivery is not None:
            await delivery.drain()

    def inbox(self, chat_id: int) -> list[Sent]:
        """Everything the bot sent to a chat, oldest first (as its final state)."""
        return [m for (chat, _), m in sorted(self.telegram.messages.items()) if chat == chat_id]

    def _message(self, user: FakeUser, **content: Any) -> dict[str, Any]:
        self._last_user_message_id = next(self._message_ids)
        message = {
            "message_id": self._last_user_message_id,
            "date": int(time.time()),
            "chat": user.chat(),
            "from": user.as_dict(),
            **content,
        }
        self.telegram.user_messages[(user.id, self._last_user_message_id)] = message
        return message

    async def send(self, user: FakeUser, text: str) -> Sent:
        """The user types `text` (a "/command" gets its entity); returns the bot's last screen."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        await self.feed({"message": self._message(user, **content)})
        return self.screen(user)

    async def edit(self, user: FakeUser, message_id: int, text: str, **content: Any) -> None:
        """The user edits an earlier message of theirs (text, or a caption with content)."""
        message = self._message(user, **(content or {"text": text}))
        message["message_id"] = message_id
        message["edit_date"] = int(time.time())
        await self.feed({"edited_message": message})

    def last_user_message_id(self) -> int:
        """The message_id the harness gave the most recent user message."""
        return self._last_user_message_id

    async def send_other(self, user: FakeUser, **content: Any) -> Sent:
        """A sticker, photo, document... (`content` is the Message fields)."""
        await self.feed({"message": self._message(user, **content)})
        return self.screen(user)

    async def press(self, user: FakeUser, label: str, on: Sent | None = None) -> Sent:
        """The user presses the button with this label on a message (default: the last one)."""
        message = on or self.screen(user)
        return await self.press_data(user, message.data_of(label), message)

    async def press_data(self, user: FakeUser, data: str, on: Sent | None = None) -> Sent:
        message = on or self.screen(user)
        query = {
            "id": str(next(self._update_ids)),
            "from": user.as_dict(),
            "chat_instance": "ci-1",
            "data": data,
            "message": FakeTelegram._message(message),
        }
        await self.feed({"callback_query": query})
        # A button in a group (the staff forum) changes that chat, not the user's own.
        return self.telegram.last.get(user.id) or self.telegram.last[message.chat_id]

    async def membership(
        self,
        by: FakeUser,
        chat_id: int,
        title: str,
        *,
        status: str = "administrator",
        can_post: bool = True,
        old: str = "left",
    ) -> None:
        """Telegram's `my_chat_member`: `by` changed the bot's status in a channel."""
        new: dict[str, Any] = {"status": status, "user": BOT_USER}
        if status == "administrator":
            new.update(_admin_rights(can_post=can_post))
        old_member: dict[str, Any] = {"status": old, "user": BOT_USER}
        if old == "administrator":
            old_member.update(_admin_rights(can_post=True))
        change = {
            "chat": {"id": chat_id, "type": "channel", "title": title},
            "from": by.as_dict(),
            "date": int(time.time()),
            "old_chat_member": old_member,
            "new_chat_member": new,
        }
        await self.feed({"my_chat_member": change})

    async def poll_votes(self, poll_id: str, votes: list[int]) -> None:
        """Telegram's `poll` update: new totals for a poll the bot sent."""
        _chat, _message, question, options = self.telegram.polls[poll_id]
        self.telegram.poll_votes[poll_id] = votes
        await self.feed({"poll": _poll(poll_id, question, options, votes)})

    def screen(self, user: FakeUser) -> Sent:
        return self.telegram.last[user.id]
