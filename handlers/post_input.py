"""What a channel admin sends for a post input they started: a language version (text, or a
photo or document with a caption; formatting kept as HTML), the new text of a published
version, a link button, an event's time, or the time to publish.

What the admin's next message means ("the RU text of post 12") is kept in the database
(`Staff.awaiting`, a typed value from bot/awaiting.py that lapses), so a restart in the
middle of writing loses nothing; handlers/dispatch.py decides when a message is that input.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import Message, Update

from bot import awaiting, publishing
from bot.awaiting import PostInput
from bot.post_buttons import keyboard
from bot.services import post_copies, post_drafts, post_schedule, posts, staff
from bot.services.posts import PostError
from bot.services.staff import StaffView
from handlers.common import PeerlineContext
from handlers.post_card import show_editor
from handlers.posts_common import error_text, when_prompt
from handlers.staff_common import staff_translator


async def admin_input(
    update: Update,
    context: PeerlineContext,
    member: StaffView,
    value: PostInput,
    message: Message,
) -> None:
    """What an admin sends for the post input they started (the dispatcher decided it is
    that, and the permissions table that they may)."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    post_id = value.post_id
    note = ""
    try:
        match value:
            case awaiting.PostText(language=language):
                kind, text, file_id = _version_of(message)
                async with runtime.transaction() as session:
                    await post_drafts.set_version(
                        session, post_id, language, kind=kind, text=text, file_id=file_id
                    )
                    await staff.set_awaiting(session, member.id, None)
                note = _.gettext("✅ %(language)s saved.", language=language.upper())
            case awaiting.PostEdit(language=language):
                kind, text, _file = _version_of(message)
                async with runtime.transaction() as session:
                    post = await posts.get(session, post_id)
                    if post is None:
                        raise PostError("not_found")
                    changed = await post_copies.edit_published(
                        session,
                        runtime.keys,
                        post_id,
                        language,
                        text=text,
                        keyboard=keyboard(runtime, post, language),
                        by=member.id,
                    )
                    await staff.set_awaiting(session, member.id, None)
                note = _.ngettext(
                    "✅ %(language)s changed; %(n)s channel message is being edited.",
                    "✅ %(language)s changed; %(n)s channel messages are being edited.",
                    changed,
                    language=language.upper(),
                )
            case awaiting.PostUrl():
                label, _bar, url = (message.text or "").partition("|")
                async with runtime.transaction() as session:
                    await post_drafts.set_button(
                        session, post_id, "url", target=url.strip(), label=label.strip()
                    )
                    await staff.set_awaiting(session, member.id, None)
            case awaiting.PostEvent():
                zone = ZoneInfo(runtime.settings.timezone)
                when = post_schedule.parse_when(message.text or "", posts.utcnow(), zone)
                if when is None:
                    await message.reply_text(when_prompt(_, runtime.settings.timezone))
                    return
                async with runtime.transaction() as session:
                    await post_drafts.set_event(session, post_id, when, now=posts.utcnow())
                    await staff.set_awaiting(session, member.id, None)
            case awaiting.PostWhen():
                zone = ZoneInfo(runtime.settings.timezone)
                when = post_schedule.parse_when(message.text or "", posts.utcnow(), zone)
                if when is None:
                    await message.reply_text(when_prompt(_, runtime.settings.timezone))
                    return
                async with runtime.transaction() as session:
                    await post_schedule.schedule(
                        session,
                        post_id,
                        when,
                        now=posts.utcnow(),
                        by=member.id,
                        template_slugs=publishing.template_slugs(runtime),
                    )
                    await staff.set_awaiting(session, member.id, None)
    except PostError as exc:
        if exc.code in ("not_found",) or exc.code.startswith("status_"):
            async with runtime.transaction() as session:
                await staff.set_awaiting(session, member.id, None)
        await message.reply_text(error_text(_, exc.code))
        return
    await show_editor(update, context, member, post_id, note=note, new=True)


def _version_of(message: Message) -> tuple[str, str, str | None]:
    """(kind, HTML text, file id) of what the admin sent."""
    if message.photo:
        return "photo", message.caption_html or "", message.photo[-1].file_id
    if message.document:
        return "document", message.caption_html or "", message.document.file_id
    if message.text:
        return "text", message.text_html, None
    raise PostError("no_file")
