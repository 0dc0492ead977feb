"""The real bot process: a consultant with two clients who write at once reads every line,
once, in order, under the right client's header (several to one Telegram message while the
chat is paced), and a reply to a message that shows both clients is asked about."""

from __future__ import annotations

from tests.e2e.test_consultation_e2e import bot_with_consultants, onboard_and_ask

LINES = 3


async def test_two_clients_writing_at_once_reach_the_consultant_together_and_apart(
    start_bot, emulator, tmp_path
) -> None:
    bot = await bot_with_consultants(start_bot, tmp_path, "together", {8_300_001: "Anna"})
    anna = bot.user(user_id=8_300_001, first_name="Anna", language_code="en")
    await anna.send_command("duty", "on")
    await anna.wait_for_message("on duty")
    first = bot.user(user_id=6_300_001, first_name="First")
    second = bot.user(user_id=6_300_002, first_name="Second")
    for client in (first, second):
        await onboard_and_ask(client)
        await anna.send_command("take")
        await anna.wait_for_message("You took")
        await client.wait_for_message("Anna")

    for n in range(LINES):  # both write at once, faster than one message a second
        await first.send_text(f"first line {n}")
        await second.send_text(f"second line {n}")
    await anna.wait_for_message(f"second line {LINES - 1}", timeout=30)  # the last one sent

    relayed = [m for m in await anna.bot_messages() if m.text and " line " in m.text]
    # Every line exactly once, each client's in order, each under one and the same header.
    headers: dict[str, set[str]] = {"first": set(), "second": set()}
    seen: dict[str, list[str]] = {"first": [], "second": []}
    for message in relayed:
        header = ""
        for line in message.text.split("\n"):
            if line.startswith("👤 "):
                header = line
            elif " line " in line:
                who = line.split()[0]
                seen[who].append(line)
                headers[who].add(header)
    assert seen == {who: [f"{who} line {n}" for n in range(LINES)] for who in seen}
    assert all(len(h) == 1 for h in headers.values()) and headers["first"] != headers["second"]
    together = [m for m in relayed if "first line" in m.text and "second line" in m.text]
    assert together, [m.text for m in relayed]  # paced: sent together, not 6 seconds apart

    # A reply to a message that shows both: asked, nothing sent until Anna says who.
    await anna.send_text("Are you safe right now?", reply_to=together[-1])
    asked = await anna.wait_for_message("several clients")
    assert "Not sent yet" in asked.text and len(asked.button_texts) == 2
    first_name = headers["first"].pop().removeprefix("👤 ").strip()
    await anna.press(next(b for b in asked.button_texts if first_name in b), on=asked)
    await first.wait_for_message("Are you safe right now?")
    await second.expect_silence(1.0)
    assert not any("Are you safe" in (m.text or "") for m in await second.bot_messages())
