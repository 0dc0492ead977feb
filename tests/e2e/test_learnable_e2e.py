"""Learnable in the bot (issue 10), with the real bot and the real CLI: a consultant added with
`peerline consultants add` while the bot runs gets the welcome with the first three steps and
their own command menu (chat scope) in their language, delivered from the outbox.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot import guide
from bot.i18n import I18n

REPO = Path(__file__).resolve().parents[2]
OLENA = 8_100_201
_uk = I18n("en").get("uk")


def consultants(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "consultants", *args],
        env=env,
        cwd=env["PEERLINE_DATA_DIR"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def chat_menu(emulator: Any, token: str, chat_id: int, *, timeout: float = 15) -> list[dict]:
    """The command menu the emulator keeps for this chat's own scope, once it is set."""
    key = f'{{"type":"chat","chat_id":{chat_id}}}|'
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        commands = (await emulator.state(token))["commands"].get(key)
        if commands or asyncio.get_running_loop().time() > deadline:
            return commands or []
        await asyncio.sleep(0.2)


async def test_a_consultant_added_by_the_cli_gets_the_welcome_and_their_menu_in_their_language(
    start_bot, emulator, tmp_path
) -> None:
    data = tmp_path / "shared-data"
    data.mkdir()
    secret = secrets.token_urlsafe(48)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERLINE_")}
    env |= {"PEERLINE_DATA_DIR": str(data), "PEERLINE_SECRET_KEY": secret, "PYTHONPATH": str(REPO)}
    bot = await start_bot(
        name="learn", extra_env={"PEERLINE_DATA_DIR": str(data), "PEERLINE_SECRET_KEY": secret}
    )
    olena = bot.user(user_id=OLENA, first_name="Olena", language_code="uk")
    await olena.open_chat()  # she has started the bot before (how else would we know her id)

    out = consultants(
        env, "add", str(OLENA), "--name", "Olena", "--role", "peer", "--languages", "uk,ru"
    )
    assert "welcome" in out

    welcome = await olena.wait_for_message("Ласкаво просимо до команди", timeout=20)
    for step in ("1. /duty on", "/take", "3. /close", "/practice"):
        assert step in welcome.text

    menu = await chat_menu(emulator, bot.token, OLENA)
    assert [c["command"] for c in menu][: len(guide.commands_for("peer"))] == guide.commands_for(
        "peer"
    )
    lines = {c["command"]: c["description"] for c in menu}
    assert lines["take"] == _uk.gettext(guide.STAFF_COMMANDS["take"])  # in Ukrainian
    assert "menu" in lines  # the client commands follow

    # Her /start is now her desk, and /help her commands.
    await olena.send_command("start")
    await olena.wait_for_message(_uk.gettext("Off duty. /duty on to receive requests."))
