"""The post editor card: the post as it stands (languages, button, channels, subscribers,
schedule, delivery) with the buttons for what can be done to it now. Every action on a post
comes back to it."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update

from bot.callbacks import PostEditor, PostList, PostPublishing, PostVersion, encode
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services import channels, post_copies, posts, staff
from bot.services.channels import ChannelView
from bot.services.post_copies import Delivery
from bot.services.posts import PostView
from bot.services.staff import StaffView
from handlers.common import PeerlineContext, show
from handlers.post_card_lines import button_line, delivery_lines, others_buttons, others_line
from handlers.posts_common import (
    LANGUAGE_NAMES,
    error_text,
    local_time,
    snippet,
    status_label,
)
from handlers.staff_common import staff_translator


def editor(
    _: Translator,
    runtime: Runtime,
    post: PostView,
    *,
    language: str,
    known_channels: list[ChannelView],
    subscribers: dict[str, int],
    delivery: Delivery | None = None,
    note: str = "",
    author: str | None = None,
) -> tuple[str, Keyboard]:
    """The post as a card, with what can be done to it now."""
    lines = [
        _.gettext(
            "📝 <b>Post #%(id)s</b> · %(status)s", id=post.id, status=status_label(_, post.status)
        )
        + (f" · ✍️ {html.escape(author)}" if author else "")
    ]
    lines.append(
        " · ".join(
            f"{code.upper()} {'✅' if code in post.versions else '—'}" for code in LANGUAGE_NAMES
        )
    )
    if post.versions:
        lines.append(f"<i>{html.escape(snippet(post))}</i>")
    lines.append(button_line(_, runtime, post, language))
    chosen = [c for c in known_channels if c.id in post.channel_ids]
    if chosen:
        names = ", ".join(
            f"{html.escape(c.title)} ({(c.language or '?').upper()})" + ("" if c.ready else " ⚠️")
            for c in chosen
        )
        lines.append(_.gettext("Channels: %(names)s", names=names))
    else:
        lines.append(_.gettext("Channels: none chosen"))
    if post.to_subscribers:
        counts = ", ".join(f"{code.upper()} {subscribers.get(code, 0)}" for code in post.languages)
        lines.append(_.gettext("Subscribers: yes (%(counts)s)", counts=counts or "—"))
        if post.versions and (line := others_line(_, post, subscribers)):
            lines.append(line)
    else:
        lines.append(_.gettext("Subscribers: no"))
    if post.event_at is not None:
        lines.append(
            _.gettext(
                "📅 Invitation to an event on %(when)s: readers can ask for a reminder an hour "
                "before.",
                when=local_time(runtime, post.event_at),
            )
        )
    if post.status == posts.SCHEDULED:
        lines.append(
            _.gettext(
                "🕒 Scheduled for %(when)s (%(zone)s)",
                when=local_time(runtime, post.scheduled_at),
                zone=runtime.settings.timezone,
            )
        )
    if post.published_at is not None:
        lines.append(_.gettext("Published %(when)s", when=local_time(runtime, post.published_at)))
    if delivery is not None:
        lines.extend(delivery_lines(_, delivery))
    if note:
        lines.extend(["", note])

    rows: list[list[Button]] = []
    pid = post.id
    if post.status in posts.EDITABLE:
        rows.append(
            [
                Button(
                    f"✏️ {code.upper()}", callback_data=encode(PostVersion(post_id=pid, choice=code))
                )
                for code in LANGUAGE_NAMES
            ]
        )
        if others := others_buttons(_, post, subscribers):
            rows.append(others)
        rows.append(
            [
                Button(
                    "🔘 " + _.gettext("Button"),
                    callback_data=encode(PostEditor(post_id=pid, action="button")),
                ),
                Button(
                    "📢 " + _.gettext("Where"),
                    callback_data=encode(PostEditor(post_id=pid, action="where")),
                ),
            ]
        )
        preview = [
            Button(
                "👁 " + _.gettext("Preview"),
                callback_data=encode(PostEditor(post_id=pid, action="preview")),
            ),
            Button(
                "📅 " + _.gettext("Invitation"),
                callback_data=encode(PostEditor(post_id=pid, action="event")),
            ),
        ]
        if not post.versions:
            preview.append(
                Button(
                    "📚 " + _.gettext("Ready-made"),
                    callback_data=encode(PostEditor(post_id=pid, action="ready")),
                )
            )
        rows.append(preview)
        rows.append(
            [
                Button(
                    "🚀 " + _.gettext("Publish now"),
                    callback_data=encode(PostPublishing(post_id=pid, action="publish")),
                ),
                Button(
                    "🕒 "
                    + (
                        _.gettext("Reschedule")
                        if post.status == posts.SCHEDULED
                        else _.gettext("Schedule")
                    ),
                    callback_data=encode(PostPublishing(post_id=pid, action="schedule")),
                ),
            ]
        )
        last = [
            Button(
                "🗑 " + _.gettext("Cancel post"),
                callback_data=encode(PostEditor(post_id=pid, action="cancel")),
            )
        ]
        if post.status == posts.SCHEDULED:
            last.insert(
                0,
                Button(
                    "↩️ " + _.gettext("Back to draft"),
                    callback_data=encode(PostPublishing(post_id=pid, action="unschedule")),
                ),
            )
        rows.append(last)
    elif post.status == posts.PUBLISHED:
        rows.append(
            [
                Button(
                    f"✏️ {code.upper()}", callback_data=encode(PostVersion(post_id=pid, choice=code))
                )
                for code in post.languages
            ]
        )
        rows.append(
            [
                Button(
                    "👁 " + _.gettext("Preview"),
                    callback_data=encode(PostEditor(post_id=pid, action="preview")),
                ),
                Button(
                    "🔄 " + _.gettext("Refresh"),
                    callback_data=encode(PostEditor(post_id=pid, action="show")),
                ),
            ]
        )
        rows.append(
            [
                Button(
                    "🗑 " + _.gettext("Delete in channels"),
                    callback_data=encode(PostPublishing(post_id=pid, action="delete")),
                )
            ]
        )
    rows.append(
        [Button("📋 " + _.gettext("All posts"), callback_data=encode(PostList(status="draft")))]
    )
    return "\n".join(lines), Keyboard(rows)


async def editor_screen(
    context: PeerlineContext, member: StaffView, post_id: int, *, note: str = ""
) -> tuple[str, Keyboard] | None:
    """Load what the editor shows (one short transaction) and render it; None if no post."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    async with runtime.transaction() as session:
        post = await posts.get(session, post_id)
        if post is None:
            return None
        known = await channels.list_channels(session)
        subscribers = await posts.subscribers_by_language(session)
        delivery = (
            await post_copies.delivery(session, post_id) if post.status != posts.DRAFT else None
        )
        writer = await staff.get(session, post.author_id) if post.author_id else None
    language = member.languages[0] if member.languages else "en"
    return editor(
        _,
        runtime,
        post,
        language=language if language in post.versions else (post.languages or ("en",))[0],
        known_channels=known,
        subscribers=subscribers,
        delivery=delivery,
        note=note,
        author=writer.display_name if writer else None,
    )


async def show_editor(
    update: Update,
    context: PeerlineContext,
    member: StaffView,
    post_id: int,
    *,
    note: str = "",
    new: bool = False,
) -> None:
    """Show the editor card (on the screen the button was on, or as a new message)."""
    screen = await editor_screen(context, member, post_id, note=note)
    if screen is None:
        _ = staff_translator(context, member)
        await show(update, context, error_text(_, "not_found"), new=new)
        return
    await show(update, context, *screen, new=new)
