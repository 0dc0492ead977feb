"""The real bot process against the Bot API emulator: crisis first (issue 9).

A first-time user in danger gets first aid in the first reply; /overdose before onboarding
reads naloxone, breathing and chest compressions without another tap, and its inner buttons
work; after /hide the chat shows nothing of the last 48 hours, neither side's messages.
"""

from __future__ import annotations

import asyncio
import time

from bot.services.content import Content

CONTENT = Content()


async def test_a_first_message_about_someone_not_breathing_gets_first_aid(
    start_bot, emulator
) -> None:
    bot = await start_bot(name="peerline-crisis")
    user = bot.user(user_id=6_200_001, first_name="Canary", language_code="ru")
    await user.send_text("помогите друг не дышит")
    first = await user.wait_for_message()
    text = first.text.lower()
    assert "103" in text and "налоксон" in text and "груд" in text and "дыш" in text


async def test_overdose_before_onboarding_works_fully(start_bot, emulator) -> None:
    bot = await start_bot(name="peerline-overdose")
    user = bot.user(user_id=6_200_002, first_name="Canary", language_code="en")
    await user.send_command("overdose")
    screen = await user.wait_for_message(lambda m: "naloxone" in m.text.lower())
    assert "chest" in screen.text.lower() and "breath" in screen.text.lower()
    await user.press(CONTENT.button("od_opioids", "en"), on=screen)
    detail = await user.wait_for_edit(screen)
    assert "Choose your language" not in detail.text and detail.text != screen.text


async def test_hide_leaves_nothing_of_the_last_48_hours(start_bot, emulator) -> None:
    bot = await start_bot(name="peerline-hide")
    user = bot.user(user_id=6_200_003, first_name="Canary", language_code="en")
    await user.send_command("start")
    picker = await user.wait_for_message("Choose your language")
    await user.press("English", on=picker)
    await user.wait_for_edit(picker)
    await user.send_text("hello")
    await user.wait_for_message()
    await user.send_command("help")
    await user.wait_for_message("/hide")
    await user.send_command("hide")
    deadline = time.monotonic() + 10
    while True:
        records = await user._control("transcript", chat_id=user.chat_id)
        left = [r for r in records if not r["deleted"]]
        if not left or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert left == [], [(r["sender"], r["message"].get("text")) for r in left]
