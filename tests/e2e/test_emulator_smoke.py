"""The e2e harness itself: the emulator answers PTB 22 like Telegram, and a real PTB bot
process (tests/e2e/smoke_bot.py) can be driven as a user in polling and in webhook mode.

These tests assert exact texts, buttons and error classes, so a harness regression fails here
before it can make Peerline's own e2e tests pass or fail for the wrong reason.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    MessageId,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden

from tests.e2e.driver import (
    BotDidNotRespond,
    BotProcess,
    Emulator,
    HarnessError,
    TelegramUser,
    free_port,
    new_token,
)

SMOKE_BOT = (sys.executable, str(Path(__file__).with_name("smoke_bot.py")))
MODES = ["polling", "webhook"]
MENU = [["\N{INFORMATION SOURCE} About", "Settings"], ["Docs"]]
BACK = "\N{LEFTWARDS BLACK ARROW} Back"
StartBot = Callable[..., Awaitable[BotProcess]]  # the `start_bot` fixture (conftest.py)


def ptb_bot(emulator: Emulator, token: str) -> Bot:
    return Bot(token, base_url=emulator.base_url, base_file_url=emulator.base_file_url)


async def raw(emulator: Emulator, token: str, method: str, **kw: object) -> httpx.Response:
    """A Bot API call with a hand-made body (kw: json= or data=), to test encodings."""
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        return await client.post(f"{emulator.api_root}/bot{token}/{method}", **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# The emulator on its own, through PTB's Bot and through raw HTTP
# ------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ptb_bot_methods_get_telegram_shapes(emulator: Emulator) -> None:
    token = new_token()
    dana = emulator.user(
        token, first_name="Dana", last_name="K", username="dana_k", language_code="uk"
    )
    await dana.send_command("start", "ref42")

    async with ptb_bot(emulator, token) as bot:  # initialize() calls getMe
        assert bot.bot.is_bot and bot.bot.id == int(token.split(":")[0])

        [update] = await bot.get_updates(timeout=0)
        incoming = update.message
        assert incoming is not None and incoming.text == "/start ref42"
        assert incoming.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 6),)
        assert incoming.from_user is not None
        assert (incoming.from_user.username, incoming.from_user.language_code) == ("dana_k", "uk")
        # Seconds, not milliseconds: a ms timestamp would land tens of thousands of years ahead.
        assert abs(incoming.date - dtm.datetime.now(dtm.UTC)) < dtm.timedelta(seconds=60)
        chat_id = incoming.chat.id
        assert chat_id == dana.id and incoming.chat.type == "private"

        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("Go", callback_data="go")],
                [InlineKeyboardButton("Site", url="https://example.org")],
            ]
        )
        sent = await bot.send_message(
            chat_id,
            "Hi <b>Dana</b> &amp; co",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
            protect_content=True,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        assert sent.text == "Hi Dana & co"
        assert sent.entities == (MessageEntity(MessageEntity.BOLD, 3, 4),)
        assert sent.has_protected_content is True
        assert sent.reply_markup == keyboard
        assert sent.from_user is not None and sent.from_user.is_bot

        press = await dana.press("Go", on=sent.message_id)
        [update] = await bot.get_updates(offset=update.update_id + 1, timeout=0)
        query = update.callback_query
        assert query is not None and query.id == press.callback_query_id
        assert query.data == "go" and query.chat_instance
        assert query.message is not None and query.message.message_id == sent.message_id
        assert await bot.answer_callback_query(query.id, text="Going") is True
        assert (await dana.wait_for_callback_answer(press))["text"] == "Going"
        with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
            await bot.answer_callback_query(query.id)  # twice

        edited = await bot.edit_message_text(
            "Step <i>two</i>",
            chat_id,
            sent.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Back", callback_data="back")]]
            ),
        )
        assert isinstance(edited, Message) and edited.text == "Step two"
        assert edited.edit_date is not None and edited.message_id == sent.message_id
        bare = await bot.edit_message_reply_markup(chat_id, sent.message_id, reply_markup=None)
        assert isinstance(bare, Message) and bare.reply_markup is None
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_reply_markup(chat_id, sent.message_id, reply_markup=None)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(chat_id, "1 < 2 <3", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(123, "nobody opened this chat")

        # The user sees the edited state of the same message.
        now = await dana.get_message(sent.message_id)
        assert (now.text, now.button_rows, now.event) == ("Step two", [], "current")

        copy = await bot.copy_message(chat_id, chat_id, incoming.message_id)
        assert isinstance(copy, MessageId)
        assert (await dana.get_message(copy.message_id)).text == "/start ref42"
        with pytest.raises(BadRequest, match=r"(?i)can't be copied"):
            await bot.copy_message(chat_id, chat_id, sent.message_id)  # protect_content

        cmds = [BotCommand("start", "Start"), BotCommand("help", "Help")]
        assert await bot.set_my_commands(cmds) is True
        assert await bot.set_my_commands([BotCommand("start", "Почати")], language_code="uk")
        assert await bot.set_my_commands(cmds[:1], scope=BotCommandScopeChat(chat_id))
        assert await bot.get_my_commands() == tuple(cmds)
        assert await bot.get_my_commands(language_code="uk") == (BotCommand("start", "Почати"),)
        assert await bot.get_my_commands(scope=BotCommandScopeChat(chat_id)) == (cmds[0],)
        assert await bot.set_my_description("Long description")
        assert await bot.set_my_short_description("Short")
        assert (await bot.get_my_description()).description == "Long description"
        assert (await bot.get_my_short_description()).short_description == "Short"

        member = await bot.get_chat_member(chat_id, dana.id)
        assert isinstance(member, ChatMemberMember) and member.user.first_name == "Dana"
        assert await bot.send_chat_action(chat_id, "typing") is True
        assert await bot.delete_message(chat_id, copy.message_id) is True
        with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
            await bot.delete_message(chat_id, copy.message_id)
        assert await bot.delete_messages(chat_id, [sent.message_id, 9999]) is True
        assert [m.message_id for m in await dana.bot_messages()] == []

        await dana.block_bot()
        with pytest.raises(Forbidden, match=r"(?i)blocked"):
            await bot.send_message(chat_id, "hello?")
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("definitelyNotAMethod")
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.log_out() is True
        assert await bot.close() is True

    assert "UNKNOWN METHOD definitelyNotAMethod" in emulator.log_tail(400)


@pytest.mark.asyncio
async def test_raw_bodies_and_unknown_method(emulator: Emulator) -> None:
    token = new_token()
    user = emulator.user(token, first_name="Raw")
    await user.open_chat()
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}

    r = await raw(
        emulator,
        token,
        "sendMessage",
        json={"chat_id": user.id, "text": "json", "reply_markup": markup},
    )
    assert r.status_code == 200 and r.json()["result"]["reply_markup"] == markup
    # Form encoding as PTB sends it: non-strings JSON-dumped; text that looks like JSON stays text.
    r = await raw(
        emulator,
        token,
        "sendMessage",
        data={"chat_id": str(user.id), "text": "123", "reply_markup": json.dumps(markup)},
    )
    body = r.json()
    assert (
        body["ok"] and body["result"]["text"] == "123" and body["result"]["reply_markup"] == markup
    )
    assert isinstance(body["result"]["date"], int) and body["result"]["date"] < 10**10

    r = await raw(emulator, token, "getMe", data={})
    assert r.json()["result"]["is_bot"] is True
    r = await raw(emulator, token, "sendSticker", data={"chat_id": str(user.id), "sticker": "x"})
    assert r.status_code == 404
    assert r.json() == {"ok": False, "error_code": 404, "description": "Not Found"}

    r = await raw(
        emulator,
        token,
        "sendMessage",
        json={
            "chat_id": user.id,
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "B", "callback_data": "x" * 65}]]},
        },
    )
    assert r.status_code == 400 and "BUTTON_DATA_INVALID" in r.json()["description"]


@pytest.mark.asyncio
async def test_get_updates_long_polls_and_confirms_by_offset(emulator: Emulator) -> None:
    token = new_token()
    user = emulator.user(token, first_name="Poll")

    t0 = time.monotonic()
    r = await raw(emulator, token, "getUpdates", json={"timeout": 1})
    assert r.json() == {"ok": True, "result": []}
    assert time.monotonic() - t0 >= 0.9  # it really waited

    async def send_later() -> None:
        await asyncio.sleep(0.3)
        await user.send_text("wake up")

    t0 = time.monotonic()
    r, _ = await asyncio.gather(
        raw(emulator, token, "getUpdates", json={"timeout": 10}), send_later()
    )
    assert time.monotonic() - t0 < 3  # answered as soon as the update arrived
    [u] = r.json()["result"]
    assert u["message"]["text"] == "wake up"

    # Not confirmed yet: returned again; offset = update_id + 1 confirms (drops) it.
    r = await raw(emulator, token, "getUpdates", data={"offset": "0", "timeout": "0"})
    assert [x["update_id"] for x in r.json()["result"]] == [u["update_id"]]
    await user.send_text("second")
    r = await raw(emulator, token, "getUpdates", data={"offset": str(u["update_id"] + 1)})
    [u2] = r.json()["result"]
    assert u2["message"]["text"] == "second" and u2["update_id"] > u["update_id"]

    # A second concurrent poller terminates the first with 409, like Telegram.
    first = asyncio.create_task(
        raw(emulator, token, "getUpdates", json={"offset": u2["update_id"] + 1, "timeout": 5})
    )
    await asyncio.sleep(0.3)
    second = await raw(
        emulator, token, "getUpdates", json={"offset": u2["update_id"] + 1, "timeout": 0}
    )
    assert second.json()["result"] == []
    r = await first
    assert r.status_code == 409 and "terminated by other getUpdates" in r.json()["description"]


@pytest.mark.asyncio
async def test_webhook_is_retried_until_the_bot_listens(emulator: Emulator) -> None:
    token = new_token()
    user = emulator.user(token, first_name="Hook")
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    r = await raw(emulator, token, "setWebhook", json={"url": url, "secret_token": "s3cr3t-token"})
    assert r.json()["result"] is True
    r = await raw(emulator, token, "getUpdates", json={})
    assert r.status_code == 409 and "webhook is active" in r.json()["description"]
    with pytest.raises(Conflict):
        async with ptb_bot(emulator, token) as bot:
            await bot.get_updates()

    sent = await user.send_text("via webhook")
    await asyncio.sleep(0.5)  # nobody listens yet: delivery fails and is retried
    async with ptb_bot(emulator, token) as bot:
        info = await bot.get_webhook_info()
    assert info.url == url and info.pending_update_count == 1
    assert info.last_error_message and "Connection failed" in info.last_error_message

    received: asyncio.Queue[tuple[dict[str, str], bytes]] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = dict(
            (k.strip().lower(), v.strip())
            for k, v in (line.split(":", 1) for line in head.split("\r\n")[1:] if ":" in line)
        )
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        await received.put((headers, body))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        headers, body = await asyncio.wait_for(received.get(), timeout=10)
    finally:
        server.close()
        await server.wait_closed()
    assert headers["x-telegram-bot-api-secret-token"] == "s3cr3t-token"
    assert headers["content-type"] == "application/json"  # PTB's webhook accepts exactly this
    update = json.loads(body)
    assert update["message"]["message_id"] == sent["message_id"]
    assert update["message"]["text"] == "via webhook"
    assert (await emulator.control("wait_idle", token=token, timeout=5))["idle"] is True

    r = await raw(emulator, token, "deleteWebhook", json={})
    assert r.json()["result"] is True
    r = await raw(emulator, token, "getUpdates", json={})
    assert r.json() == {"ok": True, "result": []}


@pytest.mark.asyncio
async def test_waits_fail_with_what_the_bot_did_say(emulator: Emulator) -> None:
    token = new_token()
    user: TelegramUser = emulator.user(token, first_name="Neg")
    await user.open_chat()
    await emulator.bot_api(
        token,
        "sendMessage",
        chat_id=user.id,
        text="Actual reply",
        reply_markup={"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]},
    )
    t0 = time.monotonic()
    with pytest.raises(BotDidNotRespond, match=r"(?s)'Expected reply'.*'Actual reply'") as err:
        await user.wait_for_message("Expected reply", timeout=1)
    assert time.monotonic() - t0 < 5
    assert "buttons=[['Yes']]" in str(err.value)
    with pytest.raises(AssertionError, match=r"no button \"No\".*\"Yes\"=\"y\""):
        await user.press("No")
    press = await user.press("y")  # by callback_data works too
    assert press.data == "y"
    with pytest.raises(BotDidNotRespond, match="did not answerCallbackQuery"):
        await user.wait_for_callback_answer(press, timeout=0.5)


@pytest.mark.asyncio
async def test_channels_rights_my_chat_member_and_media(emulator: Emulator) -> None:
    token = new_token()
    owner = emulator.user(token, first_name="Olena", username="olena_ch")
    stranger = emulator.user(token, first_name="Petro")
    for user in (owner, stranger):
        await user.open_chat()  # users the emulator has not seen do not exist for getChatMember
    channel = await emulator.create_channel(
        token, -1001234567890, "Harm reduction", username="hr_news", admins=[owner]
    )
    quiet = emulator.user(token, first_name="Quiet")  # an admin who never opened the bot
    hidden = await emulator.create_channel(token, -1001234567891, "Private", admins=[owner, quiet])
    link = InlineKeyboardMarkup([[InlineKeyboardButton("Ask", url="https://t.me/b?start=ost")]])

    async with ptb_bot(emulator, token) as bot:
        # Not in the channels yet: a public one can be looked up, nothing else works.
        info = await bot.get_chat("@hr_news")
        assert isinstance(info, ChatFullInfo)
        assert (info.id, info.type, info.title) == (channel.id, "channel", "Harm reduction")
        assert info.accepted_gift_types is not None
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.get_chat(hidden.id)
        with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation"):
            await bot.send_message(quiet.id, "hello")
        assert (await bot.get_chat_member(channel.id, bot.id)).status == "left"
        with pytest.raises(BadRequest, match=r"(?i)member list is inaccessible"):
            await bot.get_chat_member(channel.id, owner.id)
        with pytest.raises(Forbidden, match=r"(?i)bot is not a member of the channel chat"):
            await bot.send_message(channel.id, "hello")
        with pytest.raises(HarnessError, match=r"(?i)not an administrator"):
            await channel.add_bot(stranger)  # only a channel's admins can add bots

        # Added without the right to post: my_chat_member from the owner, sends refused.
        assert await channel.add_bot(owner, can_post_messages=False)
        [update] = await bot.get_updates(timeout=0)
        change = update.my_chat_member
        assert change is not None and change.chat.type == "channel"
        assert change.chat.username == "hr_news" and change.from_user.id == owner.id
        assert change.old_chat_member.status == "left"
        assert isinstance(change.new_chat_member, ChatMemberAdministrator)
        assert change.new_chat_member.can_post_messages is False
        with pytest.raises(BadRequest, match=r"(?i)need administrator rights in the channel chat"):
            await bot.send_message(channel.id, "hello")
        assert not await channel.add_bot(owner, can_post_messages=False)  # no change, no update
        assert await channel.add_bot(owner)
        [update] = await bot.get_updates(offset=update.update_id + 1, timeout=0)
        assert update.my_chat_member.new_chat_member.can_post_messages is True
        assert isinstance(await bot.get_chat_member(channel.id, owner.id), ChatMemberOwner)
        assert (await bot.get_chat_member(channel.id, stranger.id)).status == "left"
        assert await channel.bot_status() == (
            "administrator",
            {"can_post_messages": True, "can_edit_messages": True, "can_delete_messages": True},
        )

        # Posts are signed by the channel; readers see the rendered text and the URL button.
        post = await bot.send_message(
            "@hr_news", "<b>News</b>", parse_mode="HTML", reply_markup=link
        )
        assert post.from_user is None and post.sender_chat.id == channel.id
        seen = await channel.wait_for_post("News")
        assert (seen.text, seen.html) == ("News", "<b>News</b>")
        assert seen.button("Ask").url == "https://t.me/b?start=ost"
        await bot.edit_message_text("News, updated", channel.id, post.message_id, reply_markup=link)
        assert (await channel.wait_for_post()).text == "News, updated"

        # Media: only file_ids this bot has seen, of the right kind; uploads are recorded.
        photo = (await owner.send_photo(caption="look"))["photo"][-1]["file_id"]
        document = (await owner.send_document())["document"]["file_id"]
        sent = await bot.send_photo(channel.id, photo, caption="<i>Photo</i>", parse_mode="HTML")
        assert sent.caption == "Photo" and sent.photo[-1].file_id == photo
        with pytest.raises(BadRequest, match=r"(?i)type of file mismatch"):
            await bot.send_photo(channel.id, document)
        with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
            await bot.send_document(channel.id, "no-such-file")
        upload = await bot.send_document(owner.id, b"%PDF-1.4", filename="leaflet.pdf")
        assert upload.document is not None and upload.document.file_name == "leaflet.pdf"
        again = await bot.send_document(channel.id, upload.document.file_id, caption="Leaflet")
        assert again.document is not None and again.caption == "Leaflet"
        assert [m.text for m in await channel.posts()] == ["News, updated", "Photo", "Leaflet"]
        assert len(await channel.bot_sends(text="News")) == 1
        assert len(await channel.bot_sends()) == 3

        # Bots delete their messages within 48 hours; channel admins with the right, any.
        await emulator.control(
            "backdate",
            token=token,
            chat_id=owner.id,
            message_id=upload.message_id,
            seconds=49 * 3600,
        )
        with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
            await bot.delete_message(owner.id, upload.message_id)
        assert await bot.delete_message(channel.id, again.message_id)

        # Removed: my_chat_member again, and the channel is closed to the bot.
        assert await channel.remove_bot(owner)
        *_, update = await bot.get_updates(offset=update.update_id + 1, timeout=0)  # after photos
        assert update.my_chat_member.old_chat_member.status == "administrator"
        assert update.my_chat_member.new_chat_member.status == "left"
        with pytest.raises(Forbidden, match=r"(?i)not a member of the channel chat"):
            await bot.edit_message_text("x", channel.id, post.message_id)
        with pytest.raises(Forbidden, match=r"(?i)not a member of the channel chat"):
            await bot.delete_message(channel.id, post.message_id)
        assert await channel.remove_bot(owner, ban=True)
        with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the channel chat"):
            await bot.send_photo(channel.id, photo)


# ------------------------------------------------------------------------------------------
# A real PTB 22 bot process, polling and webhook
# ------------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", MODES)
async def test_smoke_bot_menu_is_edited_in_place(
    start_bot: StartBot, emulator: Emulator, mode: str
) -> None:
    bot = await start_bot(mode=mode, cmd=SMOKE_BOT, name=f"smoke-{mode}")
    state = await emulator.state(bot.token)
    if mode == "webhook":
        assert state["webhook"]["url"] == bot.webhook_url
        assert state["webhook"]["secret_token"] == bot.webhook_secret
    else:
        assert state["webhook"] is None

    ana = bot.user(first_name="Ана <3", last_name="Т", username="ana_t", language_code="ru")
    await ana.send_command("start")
    menu = await ana.wait_for_message("Welcome")
    assert menu.text == "Welcome, Ана <3! Pick a screen."
    assert menu.html == "Welcome, <b>Ана &lt;3</b>! Pick a screen."
    assert menu.button_rows == MENU
    assert menu.callback_rows == [["about", "settings"], [None]]
    assert menu.button("Docs").url == "https://example.org/docs"
    assert menu.raw["has_protected_content"] is True

    press = await ana.press("\N{INFORMATION SOURCE} About", on=menu)
    about = await ana.wait_for_edit(menu)
    assert (about.message_id, about.event) == (menu.message_id, "edited")
    assert about.text == "About: smoke bot v1"
    assert about.button_rows == [[BACK]]
    assert (await ana.wait_for_callback_answer(press)) == {"text": "About", "show_alert": False}

    await ana.press(BACK)  # default target: the newest bot message with buttons
    again = await ana.wait_for_edit(menu, "Welcome")
    assert again.button_rows == MENU

    await ana.press("settings", on=again)  # by callback_data
    settings = await ana.wait_for_edit(menu)
    assert settings.text == again.text  # editMessageReplyMarkup keeps the text
    assert settings.button_rows == [["Language: en"], ["Hide keyboard"], [BACK]]
    await ana.press("Hide keyboard", on=settings)
    hidden = await ana.wait_for_edit(menu)
    assert hidden.buttons == []

    # Only one message in the chat from the bot: every screen was an edit of it.
    assert [m.message_id for m in await ana.bot_messages()] == [menu.message_id]
    last = await ana.last_bot_message()
    assert last is not None and last.text == again.text and not last.has_keyboard
    with pytest.raises(AssertionError, match="cannot press"):
        await ana.press("About", on=menu)  # keyboard is gone now

    assert bot.stop() == 0  # SIGINT -> PTB stops gracefully
    assert "stopped cleanly" in bot.log_text()


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", MODES)
async def test_smoke_bot_commands_copy_and_cleanup(
    start_bot: StartBot, emulator: Emulator, mode: str
) -> None:
    bot = await start_bot(mode=mode, cmd=SMOKE_BOT, name=f"smoke-{mode}")
    # post_init ran before polling/webhook started, so the settings are there already.
    state = await emulator.state(bot.token)
    assert state["commands"] == {
        '{"type":"default"}|': [
            {"command": "start", "description": "Open the menu"},
            {"command": "help", "description": "List the commands"},
        ]
    }
    assert state["texts"]["description"] == {"": "Smoke-test bot for the Peerline e2e harness"}
    assert state["texts"]["short_description"] == {"": "Harness smoke bot"}

    bo = bot.user(first_name="Bo", last_name="Li", username="bo_li", language_code="kk")
    await bo.send_command("help")
    help_msg = await bo.wait_for_message("Commands:")
    assert (
        help_msg.text
        == "Commands:\n/start \N{EM DASH} Open the menu\n/help \N{EM DASH} List the commands"
    )

    await bo.send_command("whoami")
    who = await bo.wait_for_message(re.compile(r"^You are"))
    assert who.text == f"You are member; id {bo.id}; @bo_li; Bo Li; lang kk"

    sent = await bo.send_text("hello <world> & co")
    copy = await bo.wait_for_message(lambda m: m.text == "hello <world> & co")
    assert copy.message_id > sent["message_id"]
    note = await bo.wait_for_message("Copied as")
    assert note.text == f"Copied as #{copy.message_id}"
    actions, _ = await emulator.calls(bot.token, "sendChatAction")
    assert [c["params"]["action"] for c in actions] == ["typing"]

    await bo.send_sticker("\N{CAT FACE}")
    sticker_reply = await bo.wait_for_message("Sticker")
    assert sticker_reply.text == "Sticker \N{CAT FACE}"

    clean_cmd = await bo.send_command("clean")
    cleaned = await bo.wait_for_message("Cleaned")
    temp_id = int(cleaned.text.split()[-1])
    transcript = {m.message_id: m for m in await bo.bot_messages(include_deleted=True)}
    assert transcript[temp_id].text == "temporary" and transcript[temp_id].deleted
    records = await emulator.control("transcript", token=bot.token, chat_id=bo.id)
    user_clean = next(r for r in records if r["message"]["message_id"] == clean_cmd["message_id"])
    assert user_clean["deleted"] is True  # deleteMessages on the user's own /clean

    await bo.expect_silence(0.5)
    assert bot.stop() == 0


@pytest.mark.asyncio
async def test_a_bot_that_dies_at_start_is_reported_with_its_log(start_bot: StartBot) -> None:
    crash = (sys.executable, "-c", "import sys; print('boom: bad config', flush=True); sys.exit(3)")
    with pytest.raises(HarnessError, match=r"(?s)exited with code 3.*boom: bad config"):
        await start_bot(cmd=crash, ready_timeout=5)
