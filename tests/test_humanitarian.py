"""The humanitarian aid form: need -> details -> a queue item staff can take."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import Conversation
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard
from tests.test_consultation import CONSULTANT, add_consultant


async def open_form(harness: BotHarness, client: FakeUser):  # type: ignore[no-untyped-def]
    await onboard(harness, client, "en", "UA")
    menu = await harness.send(client, "/menu")
    aid = await harness.press_data(client, "1menu:humanitarian", menu)
    return await harness.press(client, "📦 Request humanitarian aid", aid)


async def test_request_with_details_reaches_the_consultant(
    harness: BotHarness, session_factory
) -> None:
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    client = FakeUser(id=5550020001, language_code="en")
    needs = await open_form(harness, client)
    assert "Food kit" in needs.labels
    prompt = await harness.press(client, "Food kit", needs)
    assert "Do not write names" in prompt.text
    sent = await harness.send(client, "for two adults, this week")
    assert "request for aid is sent" in sent.text and "queue" in sent.text
    notice = harness.screen(CONSULTANT)
    assert "humanitarian" in notice.text
    await harness.press(CONSULTANT, "Take it", notice)
    relayed = " ".join(m.text for m in harness.inbox(CONSULTANT.id))
    assert "Food kit" in relayed and "for two adults" in relayed
    async with session_factory() as session:
        row = await session.scalar(select(Conversation))
    assert (row.kind, row.topic) == ("humanitarian", "humanitarian")


async def test_request_without_details_and_back_to_the_menu(harness: BotHarness) -> None:
    client = FakeUser(id=5550020002, language_code="en")
    needs = await open_form(harness, client)
    prompt = await harness.press(client, "Transport to OST or a clinic", needs)
    sent = await harness.press(client, "Send without details", prompt)
    assert "request for aid is sent" in sent.text
    # The form is finished: free text is a message to the request, not a new form.
    reply = await harness.send(client, "thank you")
    assert "Added to your request" in reply.text


async def test_form_back_button_leaves_without_a_request(harness: BotHarness) -> None:
    client = FakeUser(id=5550020003, language_code="en")
    needs = await open_form(harness, client)
    back = await harness.press(client, "‹ Back", needs)
    assert "📦 Request humanitarian aid" in back.labels
