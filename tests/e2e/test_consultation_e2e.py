"""The real bot process: two clients and two consultants at once, each pair talks privately.

Consultants are added with the real CLI (`peerline consultants add`) into the database the
bot then runs on, as an organisation's admin would.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from bot.i18n import I18n

_ = I18n("en").get("en")
REPO = Path(__file__).resolve().parents[2]


def add_consultant(env: dict[str, str], telegram_id: int, name: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "consultants",
            "add",
            str(telegram_id),
            "--name",
            name,
            "--role",
            "peer",
            "--languages",
            "en",
        ],
        env=env,
        cwd=env["PEERLINE_DATA_DIR"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


async def bot_with_consultants(start_bot, tmp_path, name: str, consultants: dict[int, str]):  # type: ignore[no-untyped-def]
    """The real bot on a data directory of its own, with these consultants (Telegram id ->
    name) added by the CLI first, as an organisation's admin would."""
    data = tmp_path / f"{name}-data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERLINE_")}
    env |= {
        "PEERLINE_DATA_DIR": str(data),
        "PEERLINE_SECRET_KEY": secrets.token_urlsafe(48),
        "PYTHONPATH": str(REPO),
    }
    for telegram_id, consultant in consultants.items():
        add_consultant(env, telegram_id, consultant)
    bot_env = {"PEERLINE_DATA_DIR": str(data), "PEERLINE_SECRET_KEY": env["PEERLINE_SECRET_KEY"]}
    return await start_bot(name=name, extra_env=bot_env)


async def onboard_and_ask(user) -> None:  # type: ignore[no-untyped-def]
    await user.send_command("start")
    screen = await user.wait_for_message(lambda m: "English" in m.button_texts)
    await user.press("English", on=screen)
    await user.wait_for_edit(screen, "/forget")
    await user.press(_.gettext("Understood"), on=screen)
    await user.wait_for_edit(screen)
    await user.press(_.gettext("Another country"), on=screen)
    menu = await user.wait_for_edit(
        screen, lambda m: any("Ask a consultant" in b for b in m.button_texts)
    )
    await user.press("💬 " + _.gettext("Ask a consultant anonymously"), on=menu)
    await user.wait_for_edit(screen, "urgent")
    await user.press(_.gettext("No, not urgent"), on=screen)
    await user.wait_for_edit(screen, "in the queue")


async def test_two_clients_two_consultants_each_pair_talks_privately(
    start_bot, emulator, tmp_path
) -> None:
    bot = await bot_with_consultants(
        start_bot, tmp_path, "consult", {8_100_001: "Anna", 8_100_002: "Oleh"}
    )
    anna = bot.user(user_id=8_100_001, first_name="Anna", language_code="en")
    oleh = bot.user(user_id=8_100_002, first_name="Oleh", language_code="en")
    for consultant in (anna, oleh):
        await consultant.send_command("duty", "on")
        await consultant.wait_for_message("on duty")

    first = bot.user(user_id=6_200_001, first_name="Secretfirst", username="first_secret")
    second = bot.user(user_id=6_200_002, first_name="Secondsecret", username="second_secret")
    await onboard_and_ask(first)
    await onboard_and_ask(second)

    await anna.send_command("take")
    await anna.wait_for_message("You took")
    await oleh.send_command("take")
    await oleh.wait_for_message("You took")
    await first.wait_for_message("Anna")
    await second.wait_for_message("Oleh")

    await first.send_text("question from the first client")
    await second.send_text("question from the second client")
    await anna.wait_for_message("question from the first client")
    await oleh.wait_for_message("question from the second client")

    await anna.send_text("answer from Anna")
    await oleh.send_text("answer from Oleh")
    await first.wait_for_message("answer from Anna")
    await second.wait_for_message("answer from Oleh")

    everything = {
        "anna": [m.text for m in await anna.bot_messages()],
        "oleh": [m.text for m in await oleh.bot_messages()],
        "first": [m.text for m in await first.bot_messages()],
        "second": [m.text for m in await second.bot_messages()],
    }
    assert not any("second client" in t for t in everything["anna"])
    assert not any("first client" in t for t in everything["oleh"])
    assert not any("Oleh" in t for t in everything["first"])
    assert not any("Anna" in t for t in everything["second"])
    staff_view = " ".join(everything["anna"] + everything["oleh"])
    for secret in ("Secretfirst", "Secondsecret", "first_secret", "second_secret", "6200001"):
        assert secret not in staff_view
