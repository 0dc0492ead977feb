"""Experience stories: a client writes one (warned about identifying details), a channel admin
approves it into a draft post or rejects it with a reason the client is told; afterwards the
database holds neither the text nor the link to its author."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import Post, PostVersion, Story
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard
from tests.test_posts import ADMIN, add_member

STORY = (
    "Я долго боялся идти в центр СПИДа, думал, что всё расскажут на работе. "
    "Оказалось, что там никто ничего не спрашивал лишнего, и лечение бесплатное."
)


async def write_story(harness: BotHarness, client: FakeUser, text: str = STORY):  # type: ignore[no-untyped-def]
    intro = await harness.send(client, "/story")
    assert "1sto:write" in str(intro.buttons)
    prompt = await harness.press_data(client, "1sto:write", intro)
    assert "3500" in prompt.text
    return await harness.send(client, text)


async def test_story_from_the_menu_to_review_and_a_draft_post(
    harness: BotHarness, session_factory
) -> None:
    await add_member(harness)
    client = FakeUser(id=5552000001, first_name="Marta", username="marta_sto", language_code="ru")
    await onboard(harness, client, "ru")
    menu = await harness.send(client, "/menu")
    intro = await harness.press(client, "✍️ Поделиться опытом", menu)
    assert "анонимно" in intro.text
    confirm = await write_story(harness, client)
    assert "⚠️" not in confirm.text
    done = await harness.press_data(client, confirm.buttons[0][0]["callback_data"], confirm)
    assert done.text != confirm.text
    # The channel admin is told, reads it and approves it.
    notice = harness.inbox(ADMIN.id)[-1]
    assert "new story for review" in notice.text
    story = await harness.press(ADMIN, "Read it", notice)
    assert "центр СПИДа" in story.text
    editor = await harness.press(ADMIN, "✅ Approve", story)
    assert "draft post was made from story" in editor.text and "RU ✅" in editor.text
    # The author hears back; the story row no longer knows them or the text.
    assert harness.inbox(client.id)[-1].text != done.text
    async with session_factory() as session:
        row = await session.scalar(select(Story))
        text = await session.scalar(select(PostVersion.text))
        post = await session.scalar(select(Post))
    assert row.status == "approved" and row.client_id is None and row.body is None
    assert "центр СПИДа" in text and post.author_id is not None
    # A second admin pressing the old button learns it is done.
    again = await harness.press(ADMIN, "✅ Approve", story)
    assert "already been reviewed" in again.text


async def test_rejected_story_tells_the_author_why_in_their_language(
    harness: BotHarness, session_factory
) -> None:
    await add_member(harness)
    client = FakeUser(id=5552000002, first_name="Taras", username="taras_sto", language_code="uk")
    await onboard(harness, client, "uk")
    confirm = await write_story(harness, client, STORY.replace("Я", "Я, Тарас з Вінниці,"))
    await harness.press_data(client, confirm.buttons[0][0]["callback_data"], confirm)
    listing = await harness.send(ADMIN, "/stories")
    assert "1 story is waiting" in listing.text
    story = await harness.press(ADMIN, listing.labels[0], listing)
    reasons = await harness.press(ADMIN, "❌ Reject", story)
    done = await harness.press(ADMIN, "It could identify the author or someone else.", reasons)
    assert "not published; the author was told why" in done.text
    await harness.deliver()
    told = harness.inbox(client.id)[-1].text
    assert "/story" in told and "It could identify" not in told  # in Ukrainian
    async with session_factory() as session:
        row = await session.scalar(select(Story))
    assert (row.status, row.reason, row.client_id, row.body) == (
        "rejected",
        "identifying",
        None,
        None,
    )


async def test_identifying_details_are_flagged_and_bad_input_answered(
    harness: BotHarness, session_factory
) -> None:
    client = FakeUser(id=5552000003, first_name="Ivan", username="ivan_sto", language_code="en")
    await onboard(harness, client, "en")
    confirm = await write_story(
        harness,
        client,
        "Call me at +7 701 234 56 78 or write to @ivan_real, I will tell you how I got through.",
    )
    assert "a phone number" in confirm.text and "a Telegram username" in confirm.text
    again = await harness.press(client, "✏️ Write it again", confirm)
    short = await harness.send(client, "too short")
    assert "very short" in short.text
    sticker = await harness.send_other(
        client,
        sticker={
            "file_id": "s1",
            "file_unique_id": "u1",
            "type": "regular",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
        },
    )
    assert "as text" in sticker.text
    cancelled = await harness.press(client, "Cancel", again)
    assert "not sent" in cancelled.text
    # Not writing any more: plain text is ordinary input again, not a story.
    await harness.send(client, "hello there, just a normal message for the menus")
    async with session_factory() as session:
        # "Cancel" while rewriting ends the input; the story written before stays an unsent
        # draft (replaced by the next one written, never sent without the client's press).
        assert (await session.scalars(select(Story.status))).all() == ["draft"]


async def test_a_client_in_a_conversation_writes_the_story_afterwards(harness: BotHarness) -> None:
    client = FakeUser(id=5552000004, first_name="Olha", username="olha_sto", language_code="en")
    await onboard(harness, client, "en")
    await harness.press_data(client, "1ask:general")
    await harness.press_data(client, "1urg:general:0")
    intro = await harness.send(client, "/story")
    await harness.press_data(client, "1sto:write", intro)
    answer = harness.telegram.calls[-1]
    assert answer[0] == "answerCallbackQuery" and "consultant" in answer[1]["text"]


async def test_forget_removes_a_waiting_story(harness: BotHarness, session_factory) -> None:
    client = FakeUser(id=5552000005, first_name="Yulia", username="yulia_sto", language_code="en")
    await onboard(harness, client, "en")
    confirm = await write_story(harness, client)
    await harness.press_data(client, confirm.buttons[0][0]["callback_data"], confirm)
    confirm = await harness.send(client, "/forget")
    await harness.press_data(client, confirm.buttons[0][0]["callback_data"], confirm)
    async with session_factory() as session:
        assert (await session.scalars(select(Story))).all() == []


async def test_retention_removes_unsent_drafts_and_sent_reminders(
    harness: BotHarness, session_factory
) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.models import Reminder
    from bot.services import post_drafts, privacy

    client = FakeUser(id=5552000006, first_name="Lev", username="lev_sto", language_code="en")
    await onboard(harness, client, "en")
    await write_story(harness, client)  # written, never sent
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        post_id = await post_drafts.create(session, author_id=None, versions={"en": "Webinar"})
        client_id = (await session.scalars(select(Story.client_id))).one()
        session.add(
            Reminder(
                client_id=client_id,
                post_id=post_id,
                remind_at=datetime.now(UTC),
                sent_at=datetime.now(UTC),
            )
        )
    async with runtime.transaction() as session:
        await privacy.purge_expired(session, retention_days=30)
    async with session_factory() as session:
        assert len((await session.scalars(select(Story))).all()) == 1  # not old yet
    later = datetime.now(UTC) + timedelta(days=31)
    async with runtime.transaction() as session:
        await privacy.purge_expired(session, retention_days=30, now=later)
    async with session_factory() as session:
        assert (await session.scalars(select(Story))).all() == []
        assert (await session.scalars(select(Reminder))).all() == []


async def test_a_story_can_be_rejected_as_unpublishable_in_russia(
    harness: BotHarness, session_factory
) -> None:
    await add_member(harness)
    client = FakeUser(id=5552000009, first_name="Oleg", username="oleg_sto", language_code="en")
    await onboard(harness, client, "en", "RU")
    confirm = await write_story(harness, client, STORY)
    await harness.press_data(client, confirm.buttons[0][0]["callback_data"], confirm)
    listing = await harness.send(ADMIN, "/stories")
    story = await harness.press(ADMIN, listing.labels[0], listing)
    reasons = await harness.press(ADMIN, "❌ Reject", story)
    label = "It cannot be published in Russia: it tells how or where to use or get drugs."
    await harness.press(ADMIN, label, reasons)
    await harness.deliver()
    assert label in harness.inbox(client.id)[-1].text
    async with session_factory() as session:
        assert (await session.scalar(select(Story))).reason == "russia"
