"""Publishing and managing posts: /posts, publish now, schedule, back to draft, and deleting a
published post from its channels.

"Publish now" is bot/publishing.publish_now: it asks Telegram first whether the bot may still
post in each chosen channel, so a channel where it lost its rights is reported at once (and
paused), not discovered later.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import awaiting, publishing
from bot.callbacks import PostEditor, PostFallback, PostList, PostPublishing, encode, pattern_for
from bot.i18n import Translator
from bot.services import post_copies, post_drafts, post_schedule, posts, staff
from bot.services.posts import PostError, PostView
from bot.services.staff import StaffView
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, callback_of, show
from handlers.post_card import show_editor
from handlers.post_card_lines import others_line
from handlers.posts_common import (
    back_to_post,
    error_text,
    local_time,
    require_poster,
    snippet,
    status_label,
    when_prompt,
)
from handlers.staff_common import staff_translator

LISTS = (posts.DRAFT, posts.SCHEDULED, posts.PUBLISHED)


async def list_posts(update: Update, context: PeerlineContext) -> None:
    """/posts (or a list tab): drafts, scheduled or published posts, newest first."""
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    wanted = callback_of(update, PostList).status if update.callback_query else None
    async with context.runtime.transaction() as session:
        await staff.set_awaiting(session, member.id, None)
        counts = await posts.counts(session)
        if wanted is None:  # what needs attention first: what is about to go out
            wanted = posts.SCHEDULED if counts.get(posts.SCHEDULED) else posts.DRAFT
        shown = await posts.list_posts(session, (wanted,))
    await show(update, context, *posts_screen(_, context, wanted, counts, shown))


def posts_screen(
    _: Translator,
    context: PeerlineContext,
    wanted: str,
    counts: dict[str, int],
    shown: list[PostView],
) -> tuple[str, Keyboard]:
    titles = {
        posts.DRAFT: _.gettext("Drafts"),
        posts.SCHEDULED: _.gettext("Scheduled"),
        posts.PUBLISHED: _.gettext("Published"),
    }
    tabs = [
        Button(
            ("• " if status == wanted else "") + f"{titles[status]} ({counts.get(status, 0)})",
            callback_data=encode(PostList(status=status)),
        )
        for status in LISTS
    ]
    rows = [tabs]
    for post in shown:
        when = post.scheduled_at if post.status == posts.SCHEDULED else post.published_at
        stamp = local_time(context.runtime, when) if when else ""
        languages = " ".join(code.upper() for code in post.languages) or "—"
        label = f"#{post.id} {stamp} {languages} · {snippet(post)}".replace("  ", " ")
        rows.append(
            [Button(label[:60], callback_data=encode(PostEditor(post_id=post.id, action="show")))]
        )
    text = "<b>" + html.escape(titles[wanted]) + "</b>"
    if not shown:
        text += "\n" + _.gettext("None. /post writes a new post.")
    return text, Keyboard(rows)


async def publishing_action(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = callback_of(update, PostPublishing)
    post_id, action = callback.post_id, callback.action
    runtime = context.runtime
    try:
        if action == "publish":
            await _confirm_publish(update, context, member, post_id)
        elif action == "publish_ok":
            await _publish_now(update, context, member, post_id)
        elif action == "schedule":
            async with runtime.transaction() as session:
                post = await posts.get(session, post_id)
                if post is None or post.status not in posts.EDITABLE:
                    raise PostError("not_found" if post is None else f"status_{post.status}")
                await staff.set_awaiting(session, member.id, awaiting.PostWhen(post_id))
            back = [[back_to_post(_, post_id)]]
            await show(update, context, when_prompt(_, runtime.settings.timezone), Keyboard(back))
        elif action == "unschedule":
            async with runtime.transaction() as session:
                await post_schedule.unschedule(session, post_id, by=member.id)
            await show_editor(update, context, member, post_id, note=_.gettext("Back to draft."))
        elif action == "delete":
            await _confirm_delete(update, context, member, post_id)
        elif action == "delete_ok":
            async with runtime.transaction() as session:
                removed = await post_copies.delete_published(
                    session, runtime.keys, post_id, by=member.id
                )
            note = _.ngettext(
                "The post is being deleted from %(n)s channel message.",
                "The post is being deleted from %(n)s channel messages.",
                removed,
            )
            await show_editor(update, context, member, post_id, note=note)
    except PostError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)


async def _confirm_publish(
    update: Update, context: PeerlineContext, member: StaffView, post_id: int
) -> None:
    _ = staff_translator(context, member)
    async with context.runtime.transaction() as session:
        post = await posts.get(session, post_id)
        if post is None or post.status not in posts.EDITABLE:
            raise PostError("not_found" if post is None else f"status_{post.status}")
        # Asked before "are you sure?": the same rules publishing checks again.
        posts.check_template(post, publishing.template_slugs(context.runtime))
        posts.check_publishable(post)
        subscribers = await posts.subscribers_by_language(session)
    text = _.gettext(
        "Publish post #%(id)s now, as it is (%(status)s)? It goes out at once.",
        id=post_id,
        status=status_label(_, post.status),
    )
    if post.to_subscribers and (others := others_line(_, post, subscribers)):
        text += "\n\n" + others
    rows = [
        [
            Button(
                "✅ " + _.gettext("Yes, publish now"),
                callback_data=encode(PostPublishing(post_id=post_id, action="publish_ok")),
            ),
            back_to_post(_, post_id),
        ]
    ]
    await show(update, context, text, Keyboard(rows))


async def _publish_now(
    update: Update, context: PeerlineContext, member: StaffView, post_id: int
) -> None:
    _ = staff_translator(context, member)
    result = await publishing.publish_now(context.runtime, context.bot, post_id, by=member.id)
    await show_editor(update, context, member, post_id, note=publishing.summary(_, result))


async def _confirm_delete(
    update: Update, context: PeerlineContext, member: StaffView, post_id: int
) -> None:
    _ = staff_translator(context, member)
    async with context.runtime.transaction() as session:
        post = await posts.get(session, post_id)
    if post is None or post.status != posts.PUBLISHED:
        raise PostError("not_found" if post is None else f"status_{post.status}")
    text = _.gettext(
        "Delete post #%(id)s (published %(when)s) from its channels? Telegram lets bots delete "
        "only messages younger than 48 hours. Copies that subscribers got stay with them.",
        id=post_id,
        when=local_time(context.runtime, post.published_at),
    )
    rows = [
        [
            Button(
                "🗑 " + _.gettext("Yes, delete"),
                callback_data=encode(PostPublishing(post_id=post_id, action="delete_ok")),
            ),
            back_to_post(_, post_id),
        ]
    ]
    await show(update, context, text, Keyboard(rows))


async def others_get(update: Update, context: PeerlineContext) -> None:
    """ "👥 → RU": subscribers whose language the post lacks get the RU version (or none)."""
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = callback_of(update, PostFallback)
    post_id, choice = callback.post_id, callback.language
    try:
        async with context.runtime.transaction() as session:
            await post_drafts.set_others_get(session, post_id, None if choice == "none" else choice)
    except PostError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)
        return
    await show_editor(update, context, member, post_id, note="")


def register(app: Application) -> None:
    app.add_handler(CommandHandler("posts", list_posts, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(list_posts, pattern=pattern_for(PostList)))
    app.add_handler(CallbackQueryHandler(publishing_action, pattern=pattern_for(PostPublishing)))
    app.add_handler(CallbackQueryHandler(others_get, pattern=pattern_for(PostFallback)))
