"""The real bot process against the Bot API emulator: a client's first minutes, per language.

Walks /start -> language -> privacy -> country -> (skip city) -> overdose help -> back to the
menu -> OST -> nearby services, pressing buttons by the labels a person sees, in polling and
in webhook mode. Expected labels come from the same content files and catalogs the bot uses,
so the test follows the texts when an organisation edits them.
"""

from __future__ import annotations

import html
import re

import pytest

from bot.i18n import I18n
from bot.services.content import Content
from handlers.settings_screens import COUNTRY_NAMES, LANGUAGE_NAMES

CONTENT = Content()
I18N = I18n("ru")
# Where each language's walk happens: ru is read widely in Ukraine, so it checks the UA seed.
WALKS = {"ru": "UA", "uk": "UA", "kk": "KZ", "en": "UA"}


def first_line(node_id: str, language: str, country: str) -> str:
    text = CONTENT.screen(node_id, language, country).text.splitlines()[0]
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


async def walk(bot, language: str, country: str, user_id: int) -> None:  # type: ignore[no-untyped-def]
    _ = I18N.get(language)
    user = bot.user(
        user_id=user_id,
        first_name="Canary",
        username=f"canary_{language}",
        language_code=language,
    )
    await user.send_command("start")
    picker = await user.wait_for_message(lambda m: LANGUAGE_NAMES[language] in m.button_texts)
    await user.press(LANGUAGE_NAMES[language], on=picker)
    privacy = await user.wait_for_edit(picker, "/forget")
    await user.press(_.gettext("Understood"), on=privacy)
    countries = await user.wait_for_edit(picker)
    await user.press(_.gettext(COUNTRY_NAMES[country]), on=countries)
    cities = await user.wait_for_edit(picker)
    await user.press(_.gettext("Skip"), on=cities)
    menu = await user.wait_for_edit(picker, first_line("main", language, country))
    assert menu.button_texts[0] == CONTENT.button("overdose", language)

    await user.press(CONTENT.button("overdose", language), on=menu)
    overdose = await user.wait_for_edit(picker, first_line("overdose", language, country))
    assert "103" in overdose.text

    await user.press("☰ " + _.gettext("Main menu"), on=overdose)
    menu = await user.wait_for_edit(picker, first_line("main", language, country))
    await user.press(CONTENT.button("ost", language), on=menu)
    ost = await user.wait_for_edit(picker, first_line("ost", language, country))
    await user.press(CONTENT.button("ost_services", language), on=ost)
    services = await user.wait_for_edit(picker, first_line("ost_services", language, country))
    assert _.gettext("Change city") in services.button_texts
    if country == "UA":
        assert "0 800 507 727" in services.text  # the OST hotline from the seed directory


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_client_walk_in_every_language(start_bot, emulator, mode: str) -> None:
    bot = await start_bot(mode=mode, name=f"peerline-{mode}")
    for number, (language, country) in enumerate(WALKS.items()):
        await walk(bot, language, country, user_id=6_100_000 + number)


async def test_commands_and_descriptions_are_published_per_language(start_bot, emulator) -> None:
    bot = await start_bot(name="peerline-commands")
    calls = await emulator.wait_for_call(
        bot.token, "setMyShortDescription", lambda c: c["params"].get("language_code") == "en"
    )
    assert calls
    commands, _cursor = await emulator.calls(bot.token, "setMyCommands")
    by_language = {c["params"].get("language_code"): c["params"] for c in commands}
    assert {"ru", "uk", "kk", "en"} <= set(by_language)
    assert "overdose" in str(by_language["kk"]["commands"])
    assert by_language["ru"]["commands"] != by_language["en"]["commands"]


async def test_webhook_refuses_calls_without_the_secret_token(start_bot, emulator) -> None:
    """A forged webhook call (no or wrong secret header) is refused and changes nothing."""
    import httpx

    bot = await start_bot(mode="webhook", name="peerline-forged")
    calls, _cursor = await emulator.calls(bot.token, "setWebhook")
    url = calls[-1]["params"]["url"]
    forged = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "Mallory"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    # Each forged call on a connection of its own: the bot answers 403 before the body is
    # read and tornado then closes the connection, so a second call on a kept-alive one
    # raced that close (httpx.ReadError, once in three runs on a busy machine).
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=5, trust_env=False, limits=no_reuse) as client:
        missing = await client.post(url, json=forged)
        wrong = await client.post(
            url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong-secret-123456"}
        )
    assert missing.status_code == 403
    assert wrong.status_code == 403
    sent, _cursor = await emulator.calls(bot.token, "sendMessage")
    assert sent == []
