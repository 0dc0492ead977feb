"""Channel admins: registering channels, writing a post in two languages, preview, publishing
to channels and subscribers, scheduling across a restart, editing and deleting, and channels
where the bot lost its rights. Offline, through Application.process_update."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot import event_reminders, publishing
from bot.models import AuditEntry, Channel, Client, Outbox
from bot.services import outbox_upkeep, post_drafts, post_schedule, posts, staff_accounts
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard

ADMIN = FakeUser(id=5550009001, first_name="Olena", username="olena_channels", language_code="en")
RU_CHANNEL, UK_CHANNEL = -1001000000001, -1001000000002
RU_TEXT = "Налоксон спасает жизни. <b>Спросите нас анонимно.</b>"
UK_TEXT = "Налоксон рятує життя. Запитайте нас анонімно."


async def add_member(
    harness: BotHarness, user: FakeUser = ADMIN, role: str = "channel_admin", name: str = "Olena"
) -> int:
    runtime = harness.app.bot_data.runtime
    async with runtime.transaction() as session:
        member = await staff_accounts.add_staff(
            session,
            runtime.keys,
            telegram_id=user.id,
            display_name=name,
            role=role,
            languages=["en", "ru", "uk"],
        )
    return member.id


async def register_channels(harness: BotHarness) -> None:
    """The admin adds the bot to two channels; the bot asks each one's language."""
    telegram = harness.telegram
    telegram.add_channel(RU_CHANNEL, "Снижение вреда", username="hr_ru", admins={ADMIN.id})
    telegram.add_channel(UK_CHANNEL, "Зменшення шкоди", username="hr_uk", admins={ADMIN.id})
    await harness.membership(ADMIN, RU_CHANNEL, "Снижение вреда")
    prompt = harness.screen(ADMIN)
    assert "Снижение вреда" in prompt.text and "which language" in prompt.text
    done = await harness.press(ADMIN, "Русский", prompt)
    assert "publishes in Русский" in done.text
    await harness.membership(ADMIN, UK_CHANNEL, "Зменшення шкоди")
    await harness.press(ADMIN, "Українська", harness.screen(ADMIN))


async def subscriber(harness: BotHarness, user_id: int, language: str) -> FakeUser:
    user = FakeUser(
        id=user_id, first_name=f"Reader{user_id}", username=None, language_code=language
    )
    await onboard(harness, user, language)
    await harness.send(user, "/subscribe")
    return user


async def write_post(harness: BotHarness) -> int:
    """/post -> RU (with bold) and UK versions -> "ask a consultant" button on the OST topic."""
    editor = await harness.send(ADMIN, "/post")
    assert "Post #" in editor.text and "draft" in editor.text
    post_id = int(re.search(r"#(\d+)", editor.text).group(1))
    prompt = await harness.press(ADMIN, "✏️ RU", editor)
    assert "Send the Русский version of post" in prompt.text
    await harness.send_other(
        ADMIN,
        text="Налоксон спасает жизни. Спросите нас анонимно.",
        entities=[{"type": "bold", "offset": 24, "length": 22}],
    )
    editor = harness.screen(ADMIN)
    assert "RU ✅" in editor.text and "UK —" in editor.text
    await harness.press(ADMIN, "✏️ UK", editor)
    editor = await harness.send(ADMIN, UK_TEXT)
    assert "UK ✅" in editor.text
    menu = await harness.press(ADMIN, "🔘 Button", editor)
    topics = await harness.press(ADMIN, "💬 Ask a consultant anonymously", menu)
    ost = next(label for label in topics.labels if "OST" in label or "substitution" in label)
    editor = await harness.press(ADMIN, ost, topics)
    assert "Button: 💬 " in editor.text and "?start=ask_ost" in editor.text
    return post_id


def channel_posts(harness: BotHarness, chat_id: int) -> list:
    return [m for m in harness.inbox(chat_id)]


async def test_compose_preview_and_publish_to_two_channels_in_two_languages(
    harness: BotHarness, session_factory
) -> None:
    await add_member(harness)
    await register_channels(harness)
    ru_reader = await subscriber(harness, 5551000001, "ru")
    uk_reader = await subscriber(harness, 5551000002, "uk")
    en_reader = await subscriber(harness, 5551000003, "en")
    post_id = await write_post(harness)

    editor = harness.screen(ADMIN)
    assert "Снижение вреда (RU)" in editor.text and "Зменшення шкоди (UK)" in editor.text
    assert "Subscribers: yes (RU 1, UK 1)" in editor.text
    await harness.press(ADMIN, "👁 Preview", editor)
    preview = harness.inbox(ADMIN.id)[-3:]
    assert preview[0].text == RU_TEXT and preview[1].text == UK_TEXT
    link = preview[0].buttons[0][0]
    assert link["url"] == "https://t.me/peerline_bot?start=ask_ost"  # straight to the request
    assert link["text"] == "💬 Спросить консультанта анонимно"  # the reader's language
    assert "preview of post" in preview[2].text

    editor = await harness.press(ADMIN, "↩️ Back to the post", preview[2])
    confirm = await harness.press(ADMIN, "🚀 Publish now", editor)
    assert "Publish post" in confirm.text
    done = await harness.press(ADMIN, "✅ Yes, publish now", confirm)
    await harness.deliver()
    assert "is published" in done.text
    assert "Снижение вреда (RU)" in done.text and "1 subscriber (UK)" in done.text

    (ru_post,) = channel_posts(harness, RU_CHANNEL)
    (uk_post,) = channel_posts(harness, UK_CHANNEL)
    assert ru_post.text == RU_TEXT and uk_post.text == UK_TEXT
    assert ru_post.buttons[0][0]["url"].endswith("?start=ask_ost")
    assert harness.inbox(ru_reader.id)[-1].text == RU_TEXT
    assert harness.inbox(uk_reader.id)[-1].text == UK_TEXT
    assert all(m.text not in (RU_TEXT, UK_TEXT) for m in harness.inbox(en_reader.id))
    # Exactly once everywhere, also after another delivery round.
    await harness.deliver()
    sends = [p for name, p in harness.telegram.calls if name == "sendMessage"]
    assert sum(1 for p in sends if p["text"] == RU_TEXT) == 3  # preview, channel, reader
    assert sum(1 for p in sends if p["text"] == UK_TEXT) == 3
    # Logged for the admins: who, what, where (no client data).
    async with session_factory() as session:
        details = list(
            await session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "post_publish")
            )
        )
    assert details == [f"post={post_id} channels=1,2 subscribers=2"]


async def test_schedule_restart_and_publish_on_time(harness: BotHarness, session_factory) -> None:
    await add_member(harness)
    await register_channels(harness)
    reader = await subscriber(harness, 5551000011, "uk")
    post_id = await write_post(harness)
    prompt = await harness.press(ADMIN, "🕒 Schedule", harness.screen(ADMIN))
    assert "Europe/Kyiv" in prompt.text
    bad = await harness.send(ADMIN, "tomorrow-ish")
    assert "When should it be published" in bad.text
    editor = await harness.send(ADMIN, "+90")
    assert "Scheduled for" in editor.text and "scheduled" in editor.text

    # A restart: a new application on the same database, nothing in memory carried over.
    runtime = harness.app.bot_data.runtime
    from bot.app import build_application
    from tests.conftest import offline_worker
    from tests.harness import FakeTelegram

    telegram = FakeTelegram()
    app = build_application(runtime.settings, request=telegram)
    await app.initialize()
    from bot import maintenance
    from bot.app import _post_init

    await _post_init(app)
    await app.bot_data.delivery.stop()
    await maintenance.stop(app.bot_data.maintenance)
    await app.bot_data.commands  # published in the background: done before the test
    app.bot_data.delivery = offline_worker(app)
    fresh = app.bot_data.runtime
    try:
        now = posts.utcnow()
        assert await publishing.publish_due(fresh, now + timedelta(minutes=89)) == 0
        assert await publishing.publish_due(fresh, now + timedelta(minutes=91)) == 1
        assert await publishing.publish_due(fresh, now + timedelta(minutes=92)) == 0  # once
        await app.bot_data.delivery.drain()
        texts = [(p["chat_id"], p["text"]) for n, p in telegram.calls if n == "sendMessage"]
        assert texts.count((RU_CHANNEL, RU_TEXT)) == 1
        assert texts.count((UK_CHANNEL, UK_TEXT)) == 1
        assert texts.count((reader.id, UK_TEXT)) == 1
        # The author is told what went where.
        assert any(c == ADMIN.id and "is published" in t for c, t in texts)
    finally:
        await app.shutdown()
        await app.bot_data.runtime.engine.dispose()
    async with session_factory() as session:
        assert (await posts.get(session, post_id)).status == posts.PUBLISHED


async def test_reschedule_back_to_draft_and_cancel(harness: BotHarness) -> None:
    await add_member(harness)
    await register_channels(harness)
    await write_post(harness)
    await harness.press(ADMIN, "🕒 Schedule", harness.screen(ADMIN))
    editor = await harness.send(ADMIN, "2099-01-01 10:00")
    assert "more than a year ahead" in editor.text
    editor = await harness.send(ADMIN, "+60")
    assert "Scheduled for" in editor.text
    await harness.press(ADMIN, "🕒 Reschedule", editor)
    editor = await harness.send(ADMIN, "+120")
    assert "Scheduled for" in editor.text
    draft = await harness.press(ADMIN, "↩️ Back to draft", editor)
    assert "draft" in draft.text and "Scheduled for" not in draft.text
    listing = await harness.send(ADMIN, "/posts")
    assert "Drafts (1)" in listing.labels[0]
    cancelled = await harness.press(ADMIN, "🗑 Cancel post", draft)
    assert "cancelled" in cancelled.text
    async with harness.app.bot_data.runtime.transaction() as session:
        assert await post_schedule.due(session, posts.utcnow() + timedelta(days=1)) == []


async def published(harness: BotHarness) -> int:
    await add_member(harness)
    await register_channels(harness)
    post_id = await write_post(harness)
    confirm = await harness.press(ADMIN, "🚀 Publish now", harness.screen(ADMIN))
    await harness.press(ADMIN, "✅ Yes, publish now", confirm)
    await harness.deliver()
    return post_id


async def test_edit_and_delete_a_published_post(harness: BotHarness) -> None:
    post_id = await published(harness)
    (uk_post,) = channel_posts(harness, UK_CHANNEL)
    listing = await harness.send(ADMIN, "/posts")
    listing = await harness.press(ADMIN, "Published (1)", listing)
    editor = await harness.press(ADMIN, listing.labels[3], listing)
    assert f"Post #{post_id}" in editor.text and "published" in editor.text
    assert "✅ 📢 Зменшення шкоди" in editor.text
    await harness.press(ADMIN, "✏️ UK", editor)
    editor = await harness.send(ADMIN, "Налоксон рятує життя. Оновлено.")
    assert "1 channel message is being edited" in editor.text
    await harness.deliver()
    assert harness.telegram.messages[(UK_CHANNEL, uk_post.message_id)].text == (
        "Налоксон рятує життя. Оновлено."
    )
    assert harness.telegram.messages[(UK_CHANNEL, uk_post.message_id)].buttons  # kept
    confirm = await harness.press(ADMIN, "🗑 Delete in channels", editor)
    assert "48 hours" in confirm.text
    done = await harness.press(ADMIN, "🗑 Yes, delete", confirm)
    assert "deleted from 2 channel messages" in done.text
    await harness.deliver()
    deleted = {
        (int(p["chat_id"]), int(p["message_id"]))
        for n, p in harness.telegram.calls
        if n == "deleteMessage"
    }
    assert (UK_CHANNEL, uk_post.message_id) in deleted and len(deleted) == 2


async def test_post_in_a_channel_that_removed_the_bot_is_reported(harness: BotHarness) -> None:
    await add_member(harness)
    await register_channels(harness)
    await write_post(harness)
    # The bot lost its admin rights in the UK channel, and Telegram did not tell us.
    harness.telegram.channels[UK_CHANNEL]["bot"] = "left"
    confirm = await harness.press(ADMIN, "🚀 Publish now", harness.screen(ADMIN))
    done = await harness.press(ADMIN, "✅ Yes, publish now", confirm)
    assert "Зменшення шкоди skipped: the bot cannot post there now" in done.text
    await harness.deliver()
    assert channel_posts(harness, UK_CHANNEL) == []
    assert len(channel_posts(harness, RU_CHANNEL)) == 1
    listing = await harness.send(ADMIN, "/channels")
    assert "⏸ Зменшення шкоди: paused (the bot may not post there)" in listing.text


async def test_refused_delivery_pauses_the_channel_and_tells_the_author(
    harness: BotHarness, session_factory
) -> None:
    await add_member(harness)
    await register_channels(harness)
    await write_post(harness)
    confirm = await harness.press(ADMIN, "🚀 Publish now", harness.screen(ADMIN))
    # Rights are lost between the check and the send.
    harness.telegram.refuse[RU_CHANNEL] = (
        403,
        "Forbidden: bot is not a member of the channel chat",
    )
    await harness.press(ADMIN, "✅ Yes, publish now", confirm)
    await harness.deliver()
    warning = harness.inbox(ADMIN.id)[-1].text
    assert "could not go to Снижение вреда" in warning and "registered again" in warning
    async with session_factory() as session:
        channel = await session.scalar(select(Channel).where(Channel.title == "Снижение вреда"))
    assert not channel.active and channel.problem == "no_rights"


async def test_bot_removed_from_a_channel_is_noticed(harness: BotHarness) -> None:
    await add_member(harness)
    await register_channels(harness)
    stranger = FakeUser(id=5550007777, first_name="Stranger", username="stranger_x")
    await harness.membership(
        stranger, RU_CHANNEL, "Снижение вреда", status="left", old="administrator"
    )
    assert "can no longer post in Снижение вреда" in harness.inbox(ADMIN.id)[-1].text
    listing = await harness.send(ADMIN, "/channels")
    assert "⏸ Снижение вреда: paused (the bot was removed from the channel)" in listing.text
    # Added back by the channel admin: active again.
    await harness.membership(ADMIN, RU_CHANNEL, "Снижение вреда")
    listing = await harness.send(ADMIN, "/channels")
    assert "📢 Снижение вреда (RU)" in listing.text


async def test_added_by_someone_who_is_not_a_channel_admin_is_ignored(
    harness: BotHarness, session_factory
) -> None:
    stranger = FakeUser(id=5550007778, first_name="Stranger", username="stranger_y")
    await harness.membership(stranger, -1009999, "Someone's channel")
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Channel)) == 0
    assert harness.inbox(stranger.id) == []


async def test_channel_add_checks_rights_with_telegram(harness: BotHarness) -> None:
    await add_member(harness)
    telegram = harness.telegram
    reply = await harness.send(ADMIN, "/channel_add @nowhere")
    assert "cannot find that channel" in reply.text
    telegram.add_channel(-1002, "No bot", username="nobot", admins={ADMIN.id}, bot="left")
    reply = await harness.send(ADMIN, "/channel_add @nobot")
    assert "not an administrator" in reply.text
    telegram.add_channel(-1003, "Mute", username="mute", admins={ADMIN.id}, can_post=False)
    reply = await harness.send(ADMIN, "/channel_add mute")
    assert "may not post messages" in reply.text
    telegram.add_channel(-1004, "Not yours", username="other", admins=set())
    reply = await harness.send(ADMIN, "/channel_add @other")
    assert "Telegram says you are not one" in reply.text
    telegram.add_channel(-1005, "Ours", username="ours", admins={ADMIN.id})
    reply = await harness.send(ADMIN, "/channel_add @ours")
    assert "Channel <b>Ours</b> is registered" in reply.text
    done = await harness.press(ADMIN, "English", reply)
    assert "publishes in English" in done.text


async def test_only_channel_admins_may_post(harness: BotHarness) -> None:
    consultant = FakeUser(id=5550008888, first_name="Petro", username="petro_c", language_code="en")
    await add_member(harness, consultant, role="peer", name="Petro")
    for command in ("/post", "/posts", "/channels", "/channel_add @x"):
        reply = await harness.send(consultant, command)
        assert "for channel admins only" in reply.text
    client = FakeUser(id=5550008889, first_name="Client", username="client_z", language_code="en")
    await onboard(harness, client, "en")
    reply = await harness.send(client, "/post")
    assert "for channel admins only" in reply.text
    # A forged editor button from a non-admin does nothing either.
    reply = await harness.press_data(client, "1pp:1:publish_ok")
    assert harness.telegram.calls[-1][0] == "answerCallbackQuery"
    # An admin may post too; channel admins take no conversations.
    await add_member(harness, role="channel_admin")
    reply = await harness.send(ADMIN, "/duty on")
    assert "take no conversations" in reply.text


async def test_blocked_subscriber_is_unsubscribed(harness: BotHarness, session_factory) -> None:
    await add_member(harness)
    await register_channels(harness)
    reader = await subscriber(harness, 5551000021, "ru")
    harness.telegram.refuse[reader.id] = (403, "Forbidden: bot was blocked by the user")
    await write_post(harness)
    confirm = await harness.press(ADMIN, "🚀 Publish now", harness.screen(ADMIN))
    await harness.press(ADMIN, "✅ Yes, publish now", confirm)
    await harness.deliver()
    await harness.deliver()
    async with session_factory() as session:
        assert await session.scalar(select(Client.subscribed_at)) is None
        (status,) = (
            await session.execute(
                select(Outbox.status).where(
                    Outbox.recipient.like("client:%"), Outbox.post_id.is_not(None)
                )
            )
        ).one()
    assert status == "dead"
    calls = [
        p
        for n, p in harness.telegram.calls
        if str(p.get("chat_id")) == str(reader.id)
        and n == "sendMessage"
        and p.get("text") == RU_TEXT
    ]
    assert len(calls) == 1  # not retried


async def test_ready_made_template_must_be_filled_in(harness: BotHarness) -> None:
    await add_member(harness)
    await register_channels(harness)
    editor = await harness.send(ADMIN, "/post")
    ready = await harness.press(ADMIN, "📚 Ready-made", editor)
    template = next(p for p in harness.app.bot_data.runtime.ready_posts if p.template)
    editor = await harness.press(ADMIN, template.title["en"], ready)
    assert "This is a template" in editor.text and "RU ✅ · UK ✅ · KK ✅ · EN ✅" in editor.text
    await harness.press(ADMIN, "🚀 Publish now", editor)
    assert "fill in the parts in [brackets]" in harness.telegram.calls[-1][1]["text"]


TEMPLATE_REFUSED = (
    "This post is a template: fill in the parts in [brackets] in every language first."
)


@pytest.mark.parametrize("when", ["now", "at_its_scheduled_time"])
async def test_a_template_with_a_gap_is_refused_published_now_or_at_its_scheduled_time(
    harness: BotHarness, when: str
) -> None:
    runtime = harness.app.bot_data.runtime
    await add_member(harness)
    await register_channels(harness)
    reader = await subscriber(harness, 5551000031, "ru")
    editor = await harness.send(ADMIN, "/post")
    post_id = int(re.search(r"#(\d+)", editor.text).group(1))
    ready = await harness.press(ADMIN, "📚 Ready-made", editor)
    template = next(p for p in runtime.ready_posts if p.template)
    editor = await harness.press(ADMIN, template.title["en"], ready)
    if when == "now":
        await harness.press(ADMIN, "🚀 Publish now", editor)
        assert harness.telegram.calls[-1][1]["text"] == TEMPLATE_REFUSED
        # Nor can it be scheduled with its gaps.
        await harness.press(ADMIN, "🕒 Schedule", harness.screen(ADMIN))
        assert (await harness.send(ADMIN, "+30")).text == TEMPLATE_REFUSED
    else:
        # Filled in and scheduled; then, before its time, a gap is typed back in.
        async with runtime.transaction() as session:
            for language, text in template.text.items():
                filled = posts.TEMPLATE_GAP.sub("Kazan", text)
                await post_drafts.set_version(session, post_id, language, kind="text", text=filled)
        await harness.press(ADMIN, "🕒 Schedule", harness.screen(ADMIN))
        assert "Scheduled for" in (await harness.send(ADMIN, "+30")).text
        await harness.press(ADMIN, "✏️ RU", harness.screen(ADMIN))
        assert "✅ RU saved." in (await harness.send(ADMIN, "Опасная партия. Где: [ГОРОД].")).text
        now = posts.utcnow()
        assert await publishing.publish_due(runtime, now + timedelta(minutes=31)) == 0
        await harness.deliver()
        told = harness.inbox(ADMIN.id)[-1].text
        assert told == (
            f"⚠️ Scheduled post #{post_id} was not published: it is a template, and parts in "
            "[brackets] are still to be filled in. It is a draft again: /posts"
        )
    async with runtime.transaction() as session:
        view = await posts.get(session, post_id)
    assert view is not None and view.status == posts.DRAFT
    for chat in (RU_CHANNEL, UK_CHANNEL, reader.id):
        assert not [m for m in harness.inbox(chat) if "Опасная партия" in m.text]


async def test_ready_made_post_fills_all_languages_and_its_button(harness: BotHarness) -> None:
    await add_member(harness)
    editor = await harness.send(ADMIN, "/post")
    ready = await harness.press(ADMIN, "📚 Ready-made", editor)
    chosen = next(
        p
        for p in harness.app.bot_data.runtime.ready_posts
        if not p.template and p.button == "consult"
    )
    editor = await harness.press(ADMIN, chosen.title["en"], ready)
    assert "RU ✅ · UK ✅ · KK ✅ · EN ✅" in editor.text
    assert "Ask a consultant anonymously" in editor.text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("25.12 10:00", datetime(2026, 12, 25, 8, 0, tzinfo=UTC)),
        ("2026-12-25 10:00", datetime(2026, 12, 25, 8, 0, tzinfo=UTC)),
        ("25.12.2026 10:00", datetime(2026, 12, 25, 8, 0, tzinfo=UTC)),
        ("18:30", datetime(2026, 11, 24, 16, 30, tzinfo=UTC)),  # later today
        ("09:00", datetime(2026, 11, 25, 7, 0, tzinfo=UTC)),  # passed today: tomorrow
        ("01.01 00:30", datetime(2026, 12, 31, 22, 30, tzinfo=UTC)),  # next year, Kyiv time
        ("20.11 10:00", datetime(2027, 11, 20, 8, 0, tzinfo=UTC)),  # passed: next year
        ("+30", datetime(2026, 11, 24, 10, 30, tzinfo=UTC)),
        ("31.02 10:00", None),
        ("tomorrow", None),
        ("25:00", None),
    ],
)
def test_parse_when(typed: str, expected: datetime | None) -> None:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv
    assert post_schedule.parse_when(typed, now, ZoneInfo("Europe/Kyiv")) == expected


async def test_maintenance_wakes_for_the_next_scheduled_post(harness: BotHarness) -> None:
    from bot import maintenance

    runtime = harness.app.bot_data.runtime
    now = posts.utcnow()
    assert await maintenance.until_next_post(runtime, 60.0, now) == 60.0
    await add_member(harness)
    await register_channels(harness)
    await write_post(harness)
    await harness.press(ADMIN, "🕒 Schedule", harness.screen(ADMIN))
    await harness.send(ADMIN, "+1")
    async with runtime.transaction() as session:
        due_at = await post_schedule.next_due(session)
    assert due_at is not None
    woke_at = due_at - timedelta(seconds=30)
    # Not a whole round later: exactly when the post is due.
    assert await maintenance.until_next_post(runtime, 60.0, woke_at) == 30.0


async def test_purge_keeps_channel_copies_and_forget_drops_subscriber_copies(
    harness: BotHarness, session_factory
) -> None:

    reader = await subscriber(harness, 5551000031, "ru")
    await published(harness)

    async def recipients() -> set[str]:
        async with session_factory() as session:
            query = select(Outbox.recipient).where(Outbox.post_id.is_not(None))
            return set(await session.scalars(query))

    assert await recipients() == {"channel:1", "channel:2", "client:1"}
    confirm = await harness.send(reader, "/forget")
    await harness.press_data(reader, confirm.buttons[0][0]["callback_data"], confirm)
    assert await recipients() == {"channel:1", "channel:2"}
    async with session_factory() as session, session.begin():
        await outbox_upkeep.purge_sent(session, posts.utcnow() + timedelta(days=1))
    assert await recipients() == {"channel:1", "channel:2"}  # what edit and delete need


async def test_invitation_remind_me_and_the_reminder_before_the_event(
    harness: BotHarness, session_factory
) -> None:
    await add_member(harness)
    await register_channels(harness)
    post_id = await write_post(harness)
    prompt = await harness.press(ADMIN, "📅 Invitation", harness.screen(ADMIN))
    assert "Remind me" in prompt.text
    editor = await harness.send(ADMIN, "+180")
    assert "Invitation to an event on" in editor.text
    confirm = await harness.press(ADMIN, "🚀 Publish now", editor)
    await harness.press(ADMIN, "✅ Yes, publish now", confirm)
    await harness.deliver()
    (ru_post,) = channel_posts(harness, RU_CHANNEL)
    remind = ru_post.buttons[1][0]
    assert remind["text"].startswith("🔔") and remind["url"].endswith(f"?start=remind_{post_id}")

    # A reader of the channel who never used the bot presses it.
    reader = FakeUser(id=5551000041, first_name="Vera", username="vera_r", language_code="ru")
    await onboard(harness, reader, "ru")
    reply = await harness.send(reader, f"/start remind_{post_id}")
    assert reply.text.startswith("🔔") and "Europe/Kyiv" in reply.text
    again = await harness.send(reader, f"/start remind_{post_id}")
    assert again.text != reply.text and again.text.startswith("🔔")
    unknown = await harness.send(reader, "/start remind_999")
    assert "🔔" not in unknown.text

    runtime = harness.app.bot_data.runtime
    now = posts.utcnow()
    assert await event_reminders.send_due_reminders(runtime, now + timedelta(minutes=115)) == 0
    assert await event_reminders.send_due_reminders(runtime, now + timedelta(minutes=121)) == 1
    assert await event_reminders.send_due_reminders(runtime, now + timedelta(minutes=122)) == 0
    await harness.deliver()
    reminder = harness.inbox(reader.id)[-1].text
    assert reminder.startswith("🔔") and "Налоксон спасает жизни." in reminder

    # /forget takes the reminders too.
    async with session_factory() as session:
        from bot.models import Reminder

        assert await session.scalar(select(func.count()).select_from(Reminder)) == 1
    confirm = await harness.send(reader, "/forget")
    await harness.press_data(reader, confirm.buttons[0][0]["callback_data"], confirm)
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Reminder)) == 0


async def test_an_invitation_must_be_in_the_future(harness: BotHarness) -> None:
    await add_member(harness)
    await write_post(harness)
    await harness.press(ADMIN, "📅 Invitation", harness.screen(ADMIN))
    reply = await harness.send(ADMIN, "+0")
    assert "already passed" in reply.text


async def test_added_without_the_right_to_post_says_what_is_missing(harness: BotHarness) -> None:
    await add_member(harness)
    await harness.membership(ADMIN, RU_CHANNEL, "Снижение вреда", can_post=False)
    assert "may not post messages" in harness.inbox(ADMIN.id)[-1].text


async def test_invite_link_makes_a_channel_admin(harness: BotHarness, settings) -> None:
    coordinator = FakeUser(id=9100000019, language_code="en")
    settings.admin_ids.append(coordinator.id)
    reply = await harness.send(coordinator, "/invite channel_admin")
    token = reply.text.split("?start=")[1].split()[0]
    newcomer = FakeUser(id=9100000020, first_name="Nadia", username="nadia_ch", language_code="en")
    welcome = await harness.send(newcomer, f"/start {token}")
    assert "channel admin" in welcome.text and "/post" in welcome.text
    editor = await harness.send(newcomer, "/post")
    assert "Post #" in editor.text
    duty = await harness.send(newcomer, "/duty on")
    assert "take no conversations" in duty.text
    queue = await harness.send(newcomer, "/queue")
    assert queue.text == "Channel admins write posts (/post) and take no conversations."


async def test_the_log_says_who_posted_what_where_and_when(
    harness: BotHarness, settings, monkeypatch, capsys
) -> None:
    import asyncio

    from bot.cli import main

    post_id = await published(harness)
    monkeypatch.chdir(settings.data_dir.parent)
    monkeypatch.setenv("PEERLINE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("PEERLINE_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("PEERLINE_BOT_TOKEN", settings.bot_token.get_secret_value())
    code = await asyncio.to_thread(main, ["posts", "log", "--days", "1"])
    out = capsys.readouterr().out
    assert code == 0
    published_line = next(line for line in out.splitlines() if "post_publish" in line)
    assert "Olena" in published_line and f"post={post_id}" in published_line
    assert "channels=Снижение вреда, Зменшення шкоди" in published_line
    assert "channel_add" in out and "post_create" in out
    assert str(ADMIN.id) not in out  # staff are named by their display name only


async def test_subscribers_without_a_version_are_shown_and_can_get_another(
    harness: BotHarness,
) -> None:
    """A Kazakhstan NGO writes only in Russian: its Kazakh readers are not silently skipped."""
    await add_member(harness)
    kk_readers = [await subscriber(harness, 5550001100 + n, "kk") for n in range(2)]
    ru_reader = await subscriber(harness, 5550001110, "ru")
    editor = await harness.send(ADMIN, "/post")
    post_id = int(re.search(r"#(\d+)", editor.text).group(1))
    await harness.press(ADMIN, "✏️ RU", editor)
    editor = await harness.send(ADMIN, RU_TEXT)
    assert "No version for some subscribers (KK 2): they get nothing." in editor.text
    editor = await harness.press(ADMIN, "👥 → RU", editor)
    assert "No version for some subscribers (KK 2): they get the RU version." in editor.text
    confirm = await harness.press(ADMIN, "🚀 Publish now", editor)
    assert "they get the RU version" in confirm.text
    await harness.press(ADMIN, "✅ Yes, publish now", confirm)
    await harness.deliver()
    for reader in (*kk_readers, ru_reader):
        assert harness.screen(reader).text.startswith("Налоксон спасает жизни.")
    async with harness.app.bot_data.runtime.transaction() as session:
        assert (await posts.get(session, post_id)).others_get == "ru"
