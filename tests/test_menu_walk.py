"""Walk every button of the client menu, in every language and country.

Fails on a button that leads nowhere (an error, an out-of-date answer, an empty screen),
a text that is missing, or a node no one can reach.
"""

from __future__ import annotations

import pytest

from bot.callbacks import OpenMenu, ServicesPage, parse
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard

LANGUAGES = ("ru", "uk", "kk", "en")
COUNTRIES = ("RU", "UA", "KZ", "other")
# Buttons that change state are covered by their own tests; the walk only navigates.
NAVIGATION = (OpenMenu, ServicesPage)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_menu_button_leads_somewhere_in_every_country(
    harness: BotHarness, language: str
) -> None:
    content = harness.app.bot_data.runtime.content
    seen_nodes: set[str] = set()
    for number, country in enumerate(COUNTRIES):
        user = FakeUser(id=7000 + number, language_code=language)
        await onboard(harness, user, language, country)
        start = await harness.send(user, "/menu")
        queue = [start]
        visited: set[str] = set()
        while queue:
            screen = queue.pop()
            assert screen.text.strip(), "an empty screen"
            assert len(screen.text) <= 4096
            assert "went wrong" not in screen.text and "{" not in screen.text
            for row in screen.buttons:
                for button in row:
                    data = button["callback_data"]
                    callback = parse(data)
                    assert callback is not None, f"unparseable button {button}"
                    assert button["text"].strip(), f"a button without a label: {data}"
                    if not isinstance(callback, NAVIGATION) or data in visited:
                        continue
                    visited.add(data)
                    seen_nodes.add(callback.node)
                    calls_before = len(harness.telegram.calls)
                    after = await harness.press_data(user, data, screen)
                    answers = [
                        p
                        for name, p in harness.telegram.calls[calls_before:]
                        if name == "answerCallbackQuery"
                    ]
                    assert answers and not answers[0].get("text"), f"{data} was refused"
                    queue.append(after)
    unreachable = set(content.nodes) - seen_nodes - {content.root}
    unreachable -= {n for n, node in content.nodes.items() if node.kind == "action"}
    assert not unreachable, f"nodes no button leads to: {sorted(unreachable)}"
