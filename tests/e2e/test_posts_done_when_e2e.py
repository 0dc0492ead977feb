"""Issue "Done when" for channel admins, with the real bot process on SQLite, tried the way a
new channel admin would: the admin (added with the CLI) adds the bot to two channels and tells
it their languages, writes a post in Russian and Ukrainian with an "ask a consultant
anonymously" button and schedules it a minute ahead; the bot restarts in between; the post
then appears once in each channel and once for each subscribed client in their language, and
the database holds no Telegram identity of the clients.

The post is due one minute after "+1" is sent; the restarted process runs with its scheduler's
clock a minute ahead (PEERLINE_CLOCK_OFFSET_SECONDS), so it finds the post due at once and the
test takes seconds, not a real minute.
The second test is the quick one: `/channel_add @name` for a channel where the bot is not an
administrator (yet, or without "Post messages") says exactly what is missing.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from bot.i18n import I18n
from bot.services.content import Content
from handlers.posts_common import LANGUAGE_NAMES
from handlers.settings_screens import COUNTRY_NAMES
from tests.e2e import driver

CONTENT = Content()
I18N = I18n("ru")
_ = I18N.get("en")  # the channel admin reads the bot in English (first of --languages)

ADMIN = {"user_id": 8_400_001, "first_name": "Olena", "username": "olena_channels"}
RU_CHANNEL = {"chat_id": -1001400000001, "title": "Снижение вреда", "username": "hr_ru_news"}
UK_CHANNEL = {"chat_id": -1001400000002, "title": "Зменшення шкоди", "username": "hr_uk_news"}
# The Russian version is sent with a bold entity, so it reaches readers as HTML.
RU_TEXT = "Налоксон спасает жизни. Спросите нас анонимно."
RU_BOLD = [{"type": "bold", "offset": 24, "length": 22}]
UK_TEXT = "Налоксон рятує життя. Запитайте нас анонімно."
READERS = {
    "ru": {"user_id": 640_000_101, "first_name": "Mariyafirst", "username": "mariya_reads_ru"},
    "uk": {"user_id": 640_000_102, "first_name": "Tarasfirst", "username": "taras_reads_uk"},
    "en": {"user_id": 640_000_103, "first_name": "Johnnyfirst", "username": "john_reads_en"},
}
TOPIC = "ost"  # the "ask a consultant" topic the button opens
DUE_IN = 60.0  # "+1": one minute
PUBLISH_DEADLINE = 60.0  # from the restart until the post must be everywhere


def add_channel_admin(data: Path, key: str) -> None:
    driver.run_cli(
        [
            "consultants",
            "add",
            str(ADMIN["user_id"]),
            "--name",
            "Olena",
            "--role",
            "channel_admin",
            "--languages",
            "en,ru,uk",
        ],
        data_dir=data,
        secret_key=key,
    )


async def register(
    admin: driver.TelegramUser, channel: driver.TelegramChannel, language: str
) -> None:
    """The admin makes the bot an administrator of the channel and answers the language
    question the bot then asks in the private chat."""
    name = LANGUAGE_NAMES[language]
    assert await channel.add_bot(admin)
    question = await admin.wait_for_message(
        lambda m: channel.title in m.text and name in m.button_texts
    )
    assert "which language" in question.text
    assert question.button_texts == list(LANGUAGE_NAMES.values())
    await admin.press(name, on=question)
    await admin.wait_for_edit(question, f"{channel.title} publishes in {name}")


async def onboard_and_subscribe(user: driver.TelegramUser, language: str) -> None:
    """A client's first minutes (language, privacy, country, no city), then /subscribe."""
    t = I18N.get(language)
    await user.send_command("start")
    picker = await user.wait_for_message(lambda m: LANGUAGE_NAMES[language] in m.button_texts)
    await user.press(LANGUAGE_NAMES[language], on=picker)
    await user.wait_for_edit(picker, "/forget")
    await user.press(t.gettext("Understood"), on=picker)
    await user.wait_for_edit(picker)
    await user.press(t.gettext(COUNTRY_NAMES["UA"]), on=picker)
    await user.wait_for_edit(picker)
    await user.press(t.gettext("Skip"), on=picker)
    await user.wait_for_edit(picker, lambda m: len(m.button_texts) > 3)
    await user.send_command("subscribe")
    await user.wait_for_message(
        t.gettext(
            "You are subscribed to news in your language. /unsubscribe stops them at any time."
        )
    )


async def write_post(admin: driver.TelegramUser) -> tuple[int, driver.BotMessage]:
    """/post -> RU (with bold) -> UK -> "ask a consultant anonymously" button on the OST topic.
    Returns the post's id and its editor card."""
    await admin.send_command("post")
    editor = await admin.wait_for_message("Post #")
    post_id = int(re.search(r"Post #(\d+)", editor.text).group(1))  # type: ignore[union-attr]
    assert "draft" in editor.text and "RU —" in editor.text

    await admin.press("✏️ RU", on=editor)
    await admin.wait_for_edit(editor, "Русский version")
    await admin.send_text(RU_TEXT, entities=RU_BOLD)
    editor = await admin.wait_for_message("RU saved")
    assert "RU ✅" in editor.text and "UK —" in editor.text

    await admin.press("✏️ UK", on=editor)
    await admin.wait_for_edit(editor, "Українська version")
    await admin.send_text(UK_TEXT)
    editor = await admin.wait_for_message("UK saved")
    assert "RU ✅ · UK ✅" in editor.text

    await admin.press("🔘 " + _.gettext("Button"), on=editor)
    menu = await admin.wait_for_edit(editor, "Which button")
    await admin.press("💬 " + _.gettext("Ask a consultant anonymously"), on=menu)
    topics = await admin.wait_for_edit(editor, "Which topic")
    await admin.press(CONTENT.button(TOPIC, "en"), on=topics)
    editor = await admin.wait_for_edit(editor, f"?start=ask_{TOPIC}")
    # The card shows the button as the first version's readers will see it (no EN version).
    ask_ru = I18N.get("ru").gettext("Ask a consultant anonymously")
    assert f"Button: 💬 {ask_ru} → t.me/…?start=ask_{TOPIC}" in editor.text
    assert f"{RU_CHANNEL['title']} (RU)" in editor.text
    assert f"{UK_CHANNEL['title']} (UK)" in editor.text
    return post_id, editor


async def test_scheduled_post_survives_a_restart_and_reaches_everyone_once(
    start_bot, emulator, tmp_path
) -> None:
    data, key = tmp_path / "data", secrets.token_urlsafe(48)
    env = {"PEERLINE_DATA_DIR": str(data), "PEERLINE_SECRET_KEY": key}
    add_channel_admin(data, key)
    bot = await start_bot(name="posts", extra_env=env)
    username = await bot.username()

    admin = bot.user(language_code="en", **ADMIN)
    await admin.send_command("channels")  # what a new channel admin tries first
    await admin.wait_for_message("No channels yet")
    ru_channel = await bot.create_channel(admins=[admin], **RU_CHANNEL)
    uk_channel = await bot.create_channel(admins=[admin], **UK_CHANNEL)
    await register(admin, ru_channel, "ru")
    await register(admin, uk_channel, "uk")

    readers = {lang: bot.user(language_code=lang, **who) for lang, who in READERS.items()}
    for language, reader in readers.items():
        await onboard_and_subscribe(reader, language)
        await reader.skip_pending()

    post_id, editor = await write_post(admin)
    assert "Subscribers: yes (RU 1, UK 1)" in editor.text  # the English reader is not counted
    await admin.press("🕒 " + _.gettext("Schedule"), on=editor)
    await admin.wait_for_message("Europe/Kyiv")
    scheduled_at = time.time()
    await admin.send_text("+1")
    editor = await admin.wait_for_message("Scheduled for")
    assert f"Post #{post_id}" in editor.text and "scheduled" in editor.text

    # Restart: a new process on the same database, nothing carried over in memory, whose
    # scheduler's clock is a minute ahead: for it, the post is due.
    await bot.astop()
    restarted_at = time.time()
    ahead = env | {"PEERLINE_CLOCK_OFFSET_SECONDS": str(DUE_IN)}
    restarted = await start_bot(name="posts-restarted", token=bot.token, extra_env=ahead)
    watchers = [admin, ru_channel, uk_channel, *readers.values()]
    for watcher in watchers:
        watcher.bot = restarted  # timeouts report the running process's log

    expected = {
        ru_channel: (RU_TEXT, "ru"),
        uk_channel: (UK_TEXT, "uk"),
        readers["ru"]: (RU_TEXT, "ru"),
        readers["uk"]: (UK_TEXT, "uk"),
    }
    deadline = restarted_at + PUBLISH_DEADLINE
    for chat, (text, language) in expected.items():
        post = await driver.keep_waiting(
            lambda chat=chat, text=text: chat.wait_for_message(lambda m: m.text == text),
            total=max(deadline - time.time(), 1.0),
        )
        label = "💬 " + I18N.get(language).gettext("Ask a consultant anonymously")
        assert post.button_rows == [[label]], post.describe()
        # Straight to the request on that topic, not to a topic menu.
        assert post.button(label).url == f"https://t.me/{username}?start=ask_{TOPIC}"
        if text == RU_TEXT:
            assert post.html == "Налоксон спасает жизни. <b>Спросите нас анонимно.</b>"
    summary = await admin.wait_for_message(f"Post #{post_id} is published")
    for line in (f"📢 {RU_CHANNEL['title']} (RU)", f"📢 {UK_CHANNEL['title']} (UK)"):
        assert line in summary.text
    assert "1 subscriber (RU)" in summary.text and "1 subscriber (UK)" in summary.text

    # Exactly once everywhere, by the restarted process (the first one, whose clock was not
    # yet at the due time, published nothing), across both processes; the
    # English reader gets nothing (the post has no English version).
    await readers["en"].expect_silence(3.0)
    for chat, (text, _language) in expected.items():
        sends = await chat.bot_sends(text=text)
        assert len(sends) == 1, [c["result"]["message_id"] for c in sends]
        assert restarted_at <= sends[0]["time"] <= restarted_at + PUBLISH_DEADLINE
    for chat in (ru_channel, uk_channel):
        assert len(await chat.bot_sends()) == 1  # and nothing else went to the channels
    en_sends = await readers["en"].bot_sends()
    assert not [c for c in en_sends if c["time"] >= scheduled_at], en_sends
    # The author hears once what went where, and nothing else (no replayed update after the
    # restart answered a second time).
    told = [m for m in await admin.bot_messages() if m.message_id > editor.message_id]
    assert [m.message_id for m in told] == [summary.message_id], [m.describe() for m in told]

    await restarted.astop()  # checkpoint the write-ahead log into the file we read
    driver.assert_not_stored(
        data,
        [
            v
            for who in READERS.values()
            for v in (who["first_name"], who["username"], who["user_id"])
        ],
    )


async def test_channel_add_explains_what_is_missing(start_bot, emulator, tmp_path) -> None:
    data, key = tmp_path / "data", secrets.token_urlsafe(48)
    add_channel_admin(data, key)
    bot = await start_bot(
        name="channel-add", extra_env={"PEERLINE_DATA_DIR": str(data), "PEERLINE_SECRET_KEY": key}
    )
    admin = bot.user(language_code="en", **ADMIN)
    channel = await bot.create_channel(admins=[admin], **RU_CHANNEL)

    await admin.send_command("channel_add", f"@{channel.username}")
    reply = await admin.wait_for_message()
    assert "The bot is not an administrator of that channel" in reply.text
    assert "right to post messages" in reply.text

    # Made an administrator without "Post messages": /channel_add says which right is missing.
    assert await channel.add_bot(admin, can_post_messages=False)
    await admin.send_command("channel_add", f"@{channel.username}")
    reply = await admin.wait_for_message("may not post messages")
    assert "Post messages" in reply.text

    # Given the right, the bot hears of it (my_chat_member) and asks for the language.
    assert await channel.add_bot(admin)
    question = await admin.wait_for_message("which language")
    await admin.press("Русский", on=question)
    await admin.wait_for_edit(question, "publishes in Русский")
