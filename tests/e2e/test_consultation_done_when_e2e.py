"""Issue "Done when", with the real bot on SQLite: an admin invites a consultant, a client
asks about OST and is answered, a second client's urgent request jumps the queue, both are
closed with outcomes, and the database file holds no Telegram identity of the clients."""

from __future__ import annotations

import re
import sqlite3

from bot.i18n import I18n
from tests.e2e import driver

_ = I18n("en").get("en")
ADMIN, CONSULTANT = 8_300_001, 8_300_002
CALM = {"user_id": 6_300_001, "first_name": "Calmfirstname", "username": "calm_username_x"}
URGENT = {"user_id": 6_300_002, "first_name": "Urgentfirstname", "username": "urgent_user_y"}


async def ask(user, *, urgent: bool) -> None:  # type: ignore[no-untyped-def]
    await user.send_command("start")
    screen = await user.wait_for_message(lambda m: "English" in m.button_texts)
    await user.press("English", on=screen)
    await user.wait_for_edit(screen, "/forget")
    await user.press(_.gettext("Understood"), on=screen)
    await user.wait_for_edit(screen)
    await user.press(_.gettext("Ukraine"), on=screen)
    await user.wait_for_edit(screen, "city")
    await user.press(_.gettext("Skip"), on=screen)
    await user.wait_for_edit(screen, lambda m: len(m.button_texts) > 5)
    await user.press("1menu:ost", on=screen)  # by callback data: the OST button
    await user.wait_for_edit(screen, lambda m: any("Ask a consultant" in b for b in m.button_texts))
    await user.press("💬 " + _.gettext("Ask a consultant anonymously"), on=screen)
    await user.wait_for_edit(screen, "urgent")
    await user.press(_.gettext("Yes, it is urgent" if urgent else "No, not urgent"), on=screen)
    await user.wait_for_edit(screen, "in the queue")


async def close_with(consultant, outcome: str) -> None:  # type: ignore[no-untyped-def]
    await consultant.send_command("close")
    question = await consultant.wait_for_message("How did it end?")
    await consultant.press(_.gettext(outcome), on=question)
    await consultant.wait_for_edit(question, "Closed")


async def test_invite_answer_urgent_first_close_and_no_identity_stored(
    start_bot, emulator, tmp_path
) -> None:
    data = tmp_path / "data"
    bot = await start_bot(
        name="done-when",
        extra_env={"PEERLINE_DATA_DIR": str(data), "PEERLINE_ADMIN_IDS": str(ADMIN)},
    )
    admin = bot.user(user_id=ADMIN, first_name="Admin", language_code="en")
    await admin.send_command("invite", "peer")
    link = await admin.wait_for_message("?start=")
    token = re.search(r"start=(inv_[A-Za-z0-9_-]+)", link.text).group(1)

    consultant = bot.user(user_id=CONSULTANT, first_name="Anna", language_code="en")
    await consultant.send_command("start", token)
    await consultant.wait_for_message("Welcome to the team")
    await consultant.send_command("name", "Anna")
    await consultant.wait_for_message("Anna")
    await consultant.send_command("duty", "on")
    await consultant.wait_for_message("on duty")

    calm = bot.user(language_code="en", **CALM)
    urgent = bot.user(language_code="en", **URGENT)
    await ask(calm, urgent=False)
    await calm.send_text("Where can I get OST in Kyiv?")
    await ask(urgent, urgent=True)
    assert "103" in (await urgent.last_bot_message()).text  # emergency numbers at once

    await consultant.send_command("queue")
    queue = await consultant.wait_for_message("Waiting")
    assert queue.button_texts[0].startswith("🚨")  # the urgent request jumped the queue

    await consultant.send_command("take")
    await consultant.wait_for_message("You took")
    await consultant.send_text("Are you safe now? Call 103 if someone is not breathing.")
    await urgent.wait_for_message("Are you safe now?")
    await close_with(consultant, "information given")

    await consultant.send_command("take")
    await consultant.wait_for_message("Where can I get OST in Kyiv?")
    await consultant.send_text("The OST hotline 0 800 507 727 will tell you the nearest site.")
    await calm.wait_for_message("0 800 507 727")
    await close_with(consultant, "referred to a service")
    await calm.wait_for_message("How helpful")

    bot.stop()  # flush the WAL into the file we read
    database = data / "peerline.db"
    rows = (
        sqlite3.connect(database)
        .execute("SELECT status, outcome, urgent FROM conversations ORDER BY id")
        .fetchall()
    )
    assert rows == [("closed", "referred", 0), ("closed", "information", 1)]
    driver.assert_not_stored(
        data, [who[key] for who in (CALM, URGENT) for key in ("first_name", "username", "user_id")]
    )
