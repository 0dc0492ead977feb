"""Property-based fuzzing of the front door (issue 12), fully offline.

Generated and adversarial updates go through `Application.process_update` with the
FakeTelegram: missing optional fields, odd Unicode (lone surrogates, right-to-left marks,
zero-width characters), texts up to and over Telegram's 4,096 characters, forged and replayed
button data of every kind in bot/callbacks.py, wrong chat types for every command and button,
replayed update ids, edits, and presses on messages the bot can no longer see — from clients,
staff of every role and the bootstrap admin. After every example:

- no handler raised (an error-handler spy stays empty);
- every button press was answered exactly once (`answerCallbackQuery` per query id);
- the database is consistent (see `check_database`).

One bot and one SQLite file serve all examples of a property, so state builds up between
them as it would in production. Example counts are modest (the suite runs on 2 cores).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import os
import shutil
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.callbacks import KINDS as CALLBACK_KINDS
from bot.callbacks import VERSION
from bot.models import Client, Conversation, Outbox, Staff
from bot.models import Message as RecordedMessage
from tests.conftest import TEST_SECRET, TEST_TOKEN, offline_worker
from tests.harness import BOT_USER, BotHarness, FakeTelegram, FakeUser
from tests.test_consultation import ask_about_ost

# Examples per property (each example is one to four updates in the first property), times
# PEERLINE_FUZZ_SCALE for a longer run by hand. PEERLINE_FUZZ_SURVEY=1 counts failures by
# kind instead of stopping at the first (run with -n 0 -s to see the table).
SCALE = int(os.environ.get("PEERLINE_FUZZ_SCALE", "1"))
EXAMPLES = 200 * SCALE
SURVEY = os.environ.get("PEERLINE_FUZZ_SURVEY") == "1"
STAFF_GROUP = -1001234567890
OTHER_GROUP = -4000000001
CHANNEL = -1002000000001

CLIENTS = [
    FakeUser(id=5550000001 + i, language_code=code) for i, code in enumerate(["ru", "en", "uk"])
]
CLIENTS.append(FakeUser(id=5550000009, language_code=None))  # no app language at all
PEER = FakeUser(id=9100000001, first_name="Anna", username="anna_peer", language_code="en")
SUPERVISOR = FakeUser(id=9100000002, first_name="Olha", username="olha_sv", language_code="uk")
POSTER = FakeUser(id=9100000003, first_name="Ira", username="ira_posts", language_code="ru")
ADMIN = FakeUser(id=9100000004, first_name="Max", username="max_admin", language_code="en")
PEOPLE = [*CLIENTS, PEER, SUPERVISOR, POSTER, ADMIN]
STAFF_ROLES = {PEER.id: "peer", SUPERVISOR.id: "supervisor", POSTER.id: "channel_admin"}


# --- Strategies ----------------------------------------------------------------------------

# Every code point, lone surrogates included (JSON can carry "\ud800"; `characters()` alone
# never draws one).
ANY_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs"]))
ODD = st.sampled_from(
    [
        "\u200b",  # zero-width space
        "\u200d",  # zero-width joiner
        "\u202e",  # right-to-left override
        "\u200f",  # right-to-left mark
        "\ufeff",  # byte order mark
        "\ud800",  # lone high surrogate
        "\udfff",  # lone low surrogate
        "\x00",
        "\u0301",  # a combining accent with nothing to combine with
        "مرحبا",
        "שלום",
        "👩🏽‍⚕️",
        "Київ",
        "передоз",  # a crisis word
        "не дышит",
    ]
)
TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=60),
    st.lists(ODD, min_size=1, max_size=8).map("".join),
    st.tuples(st.sampled_from(["x", "Київ", "\u202e", "🙂"]), st.integers(1000, 4200)).map(
        lambda t: (t[0] * t[1])[: t[1]]  # up to and over 4,096 characters
    ),
)


def well_formed(kind: str) -> st.SearchStrategy[str]:
    """Data that parses: the kind's own schema (bot/callbacks.py), random ids and all."""
    return st.from_regex(CALLBACK_KINDS[kind].pattern, fullmatch=True).map(
        lambda rest: f"{VERSION}{kind}:{rest}"
    )


KINDS = st.sampled_from(sorted(CALLBACK_KINDS))
CALLBACK_DATA = st.one_of(
    KINDS.flatmap(well_formed),
    st.tuples(st.sampled_from("02a"), KINDS.flatmap(well_formed)).map(  # another version
        lambda t: t[0] + t[1][len(VERSION) :]
    ),
    st.text(ANY_CHAR, max_size=80),  # malformed, too long, anything
    KINDS.map(lambda kind: f"{VERSION}{kind}:"),  # a kind without its arguments
    st.just(None),  # a game button: no data at all
)


COMMANDS = [  # every command the bot has, plus some it has not
    "start",
    "menu",
    "help",
    "overdose",
    "language",
    "settings",
    "forget",
    "hide",
    "cancel",
    "subscribe",
    "unsubscribe",
    "story",
    "duty",
    "queue",
    "take",
    "close",
    "release",
    "history",
    "note",
    "transfer",
    "refer",
    "canned",
    "canned_add",
    "canned_delete",
    "topics",
    "rota",
    "cap",
    "block",
    "unblock",
    "blocked",
    "invite",
    "name",
    "post",
    "posts",
    "channels",
    "channel_add",
    "stories",
    "survey",
    "surveys",
    "frobnicate",
]
COMMAND_ARGS = st.one_of(
    st.just(""),
    st.integers(-(2**63), 2**63).map(str),
    st.sampled_from(["remind_2147483648", "inv_x", "ost", "on", "off", "1 2", "-1", "@x"]),
    TEXT,
)
COMMAND_TEXT = st.tuples(
    st.sampled_from(COMMANDS), st.sampled_from(["", "@peerline_bot", "@other_bot"]), COMMAND_ARGS
).map(lambda t: f"/{t[0]}{t[1]} {t[2]}".rstrip())

CHATS = st.sampled_from(
    ["private", "private", "private", "group", "supergroup", "forum", "channel"]
)


def chat_of(kind: str, user: FakeUser) -> dict[str, Any]:
    if kind == "private":
        return user.chat()
    if kind == "group":
        return {"id": OTHER_GROUP, "type": "group", "title": "Friends"}
    if kind == "forum":
        return {"id": STAFF_GROUP, "type": "supergroup", "title": "Staff", "is_forum": True}
    if kind == "supergroup":
        return {"id": OTHER_GROUP - 1, "type": "supergroup", "title": "Town"}
    return {"id": CHANNEL, "type": "channel", "title": "News"}


MEDIA = st.sampled_from(
    [
        {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "u",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        },
        {"photo": [{"file_id": "p", "file_unique_id": "u", "width": 9, "height": 9}]},
        {"voice": {"file_id": "v", "file_unique_id": "u", "duration": 1}},
        {"location": {"latitude": 50.45, "longitude": 30.52}},
        {"contact": {"phone_number": "+380000000000", "first_name": "Someone"}},
        {"new_chat_members": [BOT_USER]},
        {},  # nothing at all: a service message we do not know
    ]
)


@st.composite
def message_content(draw: st.DrawFn) -> dict[str, Any]:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        text = draw(COMMAND_TEXT)
        return {"text": text, "entities": [command_entity(text)]}
    if choice == 1:
        return {"text": draw(TEXT) or "."}
    media = dict(draw(MEDIA))
    if "photo" in media and draw(st.booleans()):
        media["caption"] = draw(TEXT)
    return media


def command_entity(text: str) -> dict[str, Any]:
    return {"type": "bot_command", "offset": 0, "length": len(text.split(maxsplit=1)[0])}


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    """One raw update, before its id: a message, an edit, a button press or a channel post."""
    # The people in a conversation (the relay stores their words) come up more often.
    user = draw(st.one_of(st.sampled_from(PEOPLE), st.sampled_from([CLIENTS[1], CLIENTS[2], PEER])))
    chat = chat_of(draw(CHATS), user)
    kind = draw(st.sampled_from(["message", "message", "edited_message", "press", "press"]))
    sender: dict[str, Any] | None = user.as_dict()
    if draw(st.integers(0, 19)) == 0:
        sender = None  # forged: no sender at all
    if kind == "press":
        return {"callback_query": draw(press(sender, chat))}
    message: dict[str, Any] = {
        "message_id": draw(st.integers(1, 2**31 - 1)),
        "date": int(time.time()),
        "chat": chat,
        **draw(message_content()),
    }
    if sender is not None and chat["type"] != "channel":
        message["from"] = sender
    if chat.get("is_forum") and draw(st.booleans()):
        message.update(message_thread_id=draw(st.integers(1, 600)), is_topic_message=True)
    if kind == "edited_message":
        message["edit_date"] = int(time.time())
    if chat["type"] == "channel":
        return {"edited_channel_post" if kind == "edited_message" else "channel_post": message}
    return {kind: message}


PRESS_IDS = itertools.count(1)


@st.composite
def press(draw: st.DrawFn, sender: dict[str, Any] | None, chat: dict[str, Any]) -> dict[str, Any]:
    """A button press: data of any kind, on an accessible, inaccessible or absent message."""
    query: dict[str, Any] = {"id": f"q{next(PRESS_IDS)}", "chat_instance": "ci"}
    if sender is not None:
        query["from"] = sender
    data = draw(st.one_of(CALLBACK_DATA, st.just(REPLAY)))
    if data is not None:
        query["data"] = data
    where = draw(st.sampled_from(["screen", "screen", "screen", "inaccessible", "inline"]))
    if where == "inline":
        query["inline_message_id"] = "inline-1"
    elif where == "inaccessible":
        query["message"] = {"chat": chat, "message_id": draw(st.integers(1, 99)), "date": 0}
    else:
        query["message"] = {
            "message_id": draw(st.integers(1, 2**31 - 1)),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": draw(st.sampled_from(["Menu", "", "x" * 4096])) or "·",
        }
        if draw(st.booleans()):
            query["message"]["reply_to_message"] = {
                "message_id": 7,
                "date": int(time.time()),
                "chat": chat,
                "text": draw(TEXT) or ".",
                **({"from": sender} if sender else {}),
            }
    return query


# A placeholder: press a button the bot really sent (replayed, possibly to someone else).
REPLAY = "<replay>"


# --- The bot under test --------------------------------------------------------------------


class Fuzzed:
    """One offline bot on its own event loop, fed from synchronous Hypothesis examples."""

    def __init__(self, db: Path, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.errors: list[BaseException] = []
        self.update_ids = itertools.count(1)
        self.fed: list[dict[str, Any]] = []  # earlier updates, to replay with their ids
        self.updates_fed = 0
        self.presses = 0
        self.failures: Counter[str] = Counter()
        self.harness = self.run(self._start(db, data_dir))

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def _start(self, db: Path, data_dir: Path) -> BotHarness:
        from bot import maintenance
        from bot.app import _post_init, build_application
        from bot.config import Settings
        from bot.services import staff_accounts

        settings_ = Settings(
            _env_file=None,
            bot_token=TEST_TOKEN,
            secret_key=TEST_SECRET,
            data_dir=data_dir,
            database_url=f"sqlite+aiosqlite:///{db}",
            default_language="ru",
            staff_group_id=STAFF_GROUP,
            admin_ids=[ADMIN.id],
        )
        telegram = FakeTelegram()
        app = build_application(settings_, request=telegram)
        await app.initialize()
        await _post_init(app)
        await app.bot_data.delivery.stop()
        app.bot_data.delivery = offline_worker(app)
        await maintenance.stop(app.bot_data.maintenance)
        app.bot_data.maintenance = None
        app.bot_data.runtime.outbox_ready = lambda: None

        async def spy(update: object, context: Any) -> None:
            self.errors.append(context.error)

        app.add_error_handler(spy)
        runtime = app.bot_data.runtime
        async with runtime.transaction() as session:
            for user_id, role in STAFF_ROLES.items():
                await staff_accounts.add_staff(
                    session,
                    runtime.keys,
                    telegram_id=user_id,
                    display_name=f"Staff{user_id % 10}",
                    role=role,
                    languages=["en", "ru", "uk"],
                )
        harness = BotHarness(app, telegram)
        # Some real state to aim at: a consultant on duty, one client waiting for a consultant
        # and one talking with them, so generated words reach the relay from both sides.
        await harness.send(PEER, "/duty on")
        for client in CLIENTS[1:3]:
            await ask_about_ost(harness, client)
        await harness.press(PEER, "Take it", harness.screen(PEER))
        return harness

    def close(self) -> None:
        async def stop() -> None:
            app = self.harness.app
            await app.shutdown()
            await app.bot_data.runtime.engine.dispose()

        self.run(stop())
        self.loop.close()

    @property
    def app(self) -> Application:
        return self.harness.app

    def sent_buttons(self) -> list[str]:
        return [
            button["callback_data"]
            for sent in self.harness.telegram.messages.values()
            for row in sent.buttons
            for button in row
            if "callback_data" in button
        ]

    async def recorded_messages(self) -> int:
        """Messages of conversations on record (a replayed update must add none)."""
        async with self.app.bot_data.runtime.transaction() as session:
            return await session.scalar(select(func.count()).select_from(RecordedMessage)) or 0

    async def feed(self, raw: dict[str, Any], replay_index: int, replay: bool) -> None:
        """Feed one update (or replay an earlier one, update id and all) and check it."""
        if replay and self.fed:
            raw = self.fed[replay_index % len(self.fed)]
            if "callback_query" in raw:  # Telegram sends a press once; a new press is new
                fresh = {**raw["callback_query"], "id": f"q{next(PRESS_IDS)}"}
                raw = {**raw, "callback_query": fresh}
        else:
            raw = {"update_id": next(self.update_ids), **raw}
            query = raw.get("callback_query")
            if query is not None and query.get("data") == REPLAY:
                buttons = self.sent_buttons() or ["1menu:main"]
                query["data"] = buttons[replay_index % len(buttons)]
            self.fed.append(raw)
        self.errors.clear()
        update = Update.de_json(copy.deepcopy(raw), self.app.bot)
        before = len(self.harness.telegram.calls)
        recorded = await self.recorded_messages() if replay else 0
        await self.app.process_update(update)
        await self.harness.deliver()
        self.updates_fed += 1
        recorded_again = (
            replay and "callback_query" not in raw and await self.recorded_messages() != recorded
        )
        if recorded_again:
            self.failures["a replayed update was recorded again"] += 1
        for error in self.errors:
            frame = traceback.extract_tb(error.__traceback__)[-1]
            where = f"{type(error).__name__} at {Path(frame.filename).name}:{frame.lineno}"
            self.failures[where] += 1
        query = raw.get("callback_query")
        answers: Counter[str] = Counter()
        if query is not None:
            self.presses += 1
            answers = Counter(
                p.get("callback_query_id")
                for name, p in self.harness.telegram.calls[before:]
                if name == "answerCallbackQuery"
            )
            if answers != {query["id"]: 1}:
                where = (query.get("message") or {}).get("chat", {}).get("type")
                data = query.get("data")
                self.failures[f"answered {sum(answers.values())} times: {data!r} in {where}"] += 1
        if SURVEY:
            try:
                await check_database(self.app)
            except AssertionError as broken:
                self.failures[f"database: {broken}"] += 1
            return
        assert not self.errors, f"a handler raised: {self.errors!r} on {raw!r}"
        assert not recorded_again, f"recorded again: {raw!r}"
        if query is not None:
            assert answers == {query["id"]: 1}, f"answered {answers} for {raw!r}"
        await check_database(self.app)


async def check_database(app: Application) -> None:
    """What must hold whatever people send."""
    runtime = app.bot_data.runtime
    keys = runtime.keys
    users = {keys.client_key(person.id): person.id for person in PEOPLE}
    async with runtime.transaction() as session:
        for key, chat_ref, flood_count in await session.execute(
            select(Client.key, Client.chat_ref, Client.flood_count)
        ):
            # A client's chat is their private chat (whose id is their user id), never a group.
            assert keys.decrypt_chat_id(chat_ref) == users[key]
            assert flood_count >= 0
        open_per_client = await session.execute(
            select(Conversation.client_id, func.count())
            .where(Conversation.status.in_(("waiting", "active")))
            .group_by(Conversation.client_id)
            .having(func.count() > 1)
        )
        assert not open_per_client.all(), "a client with two open conversations"
        topics = await session.execute(
            select(Conversation.forum_topic_id)
            .where(Conversation.forum_topic_id.is_not(None))
            .where(Conversation.status.in_(("waiting", "active")))
            .group_by(Conversation.forum_topic_id)
            .having(func.count() > 1)
        )
        assert not topics.all(), "one forum topic held by two open conversations"
        held = await session.execute(
            select(Conversation.id, Conversation.status, Conversation.staff_id).where(
                Conversation.status.in_(("waiting", "active"))
            )
        )
        for conversation_id, status, staff_id in held:
            assert (status == "active") == (staff_id is not None), (conversation_id, status)
        client_ids = set(await session.scalars(select(Client.id)))
        for recipient in await session.scalars(
            select(Outbox.recipient).where(Outbox.status == "pending")
        ):
            if recipient.startswith("client:"):
                assert int(recipient.split(":")[1]) in client_ids, "outbox row for a lost client"
        negative = await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.attempts < 0)
        )
        assert negative == 0
        staff_rows = await session.scalar(select(func.count()).select_from(Staff))
        assert staff_rows >= len(STAFF_ROLES)


@pytest.fixture
def fuzzed(_sqlite_template: Path, tmp_path: Path) -> Iterator[Fuzzed]:
    db = tmp_path / "fuzz.db"
    shutil.copyfile(_sqlite_template, db)
    bot = Fuzzed(db, tmp_path / "data")
    yield bot
    print(f"fuzz: {bot.updates_fed} updates, {bot.presses} button presses")
    for where, count in bot.failures.most_common():
        print(f"  {count:5d} {where}")
    bot.close()


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def test_any_update_is_handled_answered_once_and_keeps_the_database_consistent(
    fuzzed: Fuzzed,
) -> None:
    """Batches of anything: messages, commands, media, edits, presses, channel posts, replays
    of earlier updates (same update id) and of buttons the bot really sent."""

    @settings(FUZZ, max_examples=300 * SCALE)
    @given(
        st.lists(
            st.tuples(updates(), st.integers(0, 10**6), st.integers(0, 9).map(lambda n: n == 0)),
            min_size=1,
            max_size=4,
        )
    )
    def property_(batch: list[tuple[dict[str, Any], int, bool]]) -> None:
        for raw, replay_index, replay in batch:
            fuzzed.run(fuzzed.feed(raw, replay_index, replay))

    property_()


def test_every_button_kind_in_every_chat_is_answered_once(fuzzed: Fuzzed) -> None:
    """Well-formed data of each kind (random ids), pressed by each person in each chat type."""

    @FUZZ
    @given(
        st.sampled_from(PEOPLE),
        CHATS,
        st.sampled_from(sorted(CALLBACK_KINDS)).flatmap(well_formed),
        st.sampled_from(["screen", "inaccessible", "inline"]),
    )
    def property_(user: FakeUser, chat_kind: str, data: str, where: str) -> None:
        chat = chat_of(chat_kind, user)
        query: dict[str, Any] = {
            "id": f"q{next(PRESS_IDS)}",
            "chat_instance": "ci",
            "from": user.as_dict(),
            "data": data,
        }
        if where == "inline":
            query["inline_message_id"] = "inline-1"
        elif where == "inaccessible":
            query["message"] = {"chat": chat, "message_id": 5, "date": 0}
        else:
            query["message"] = {
                "message_id": 5,
                "date": int(time.time()),
                "chat": chat,
                "from": BOT_USER,
                "text": "Menu",
            }
        fuzzed.run(fuzzed.feed({"callback_query": query}, 0, False))

    property_()


def test_every_command_in_every_chat_is_handled(fuzzed: Fuzzed) -> None:
    commands = sorted(
        {
            c
            for group in fuzzed.app.handlers.values()
            for h in group
            if isinstance(h, CommandHandler)
            for c in h.commands
        }
    )
    assert "start" in commands and "post" in commands

    @FUZZ
    @given(st.sampled_from(PEOPLE), CHATS, st.sampled_from(commands), COMMAND_ARGS)
    def property_(user: FakeUser, chat_kind: str, command: str, args: str) -> None:
        chat = chat_of(chat_kind, user)
        text = f"/{command} {args}".rstrip()
        message: dict[str, Any] = {
            "message_id": 1,
            "date": int(time.time()),
            "chat": chat,
            "text": text,
            "entities": [command_entity(text)],
        }
        key = "channel_post" if chat["type"] == "channel" else "message"
        if key == "message":
            message["from"] = user.as_dict()
        fuzzed.run(fuzzed.feed({key: message}, 0, False))

    property_()


def test_any_words_in_a_conversation_are_handled(fuzzed: Fuzzed) -> None:
    """Whatever text or caption the people in a conversation send (the relay encrypts and
    stores it before it acts), from both sides."""

    @settings(FUZZ, max_examples=150 * SCALE)
    @given(
        st.sampled_from([CLIENTS[1], CLIENTS[2], PEER]),
        TEXT,
        st.sampled_from(["text", "caption", "edit"]),
    )
    def property_(user: FakeUser, words: str, how: str) -> None:
        message: dict[str, Any] = {
            "message_id": next(fuzzed.update_ids) + 10_000,
            "date": int(time.time()),
            "chat": user.chat(),
            "from": user.as_dict(),
        }
        if how == "caption":
            message["photo"] = [{"file_id": "p", "file_unique_id": "u", "width": 9, "height": 9}]
            message["caption"] = words
        else:
            message["text"] = words or "."
        if how == "edit":
            message["edit_date"] = int(time.time())
        fuzzed.run(
            fuzzed.feed({"edited_message" if how == "edit" else "message": message}, 0, False)
        )

    property_()
