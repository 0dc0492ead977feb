"""Writing a post: /post opens the editor of a new draft; its buttons lead to each part of
the post, one module each: the language versions (here: ✏️ RU asks for the text, which the
admin then sends, handlers/post_input.py), the button (post_button), where it goes
(post_where), a preview exactly as it will look (post_preview), a ready-made start
(post_ready), and publishing it (post_manage).
"""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import awaiting
from bot.callbacks import PostEditor, PostVersion, encode, pattern_for
from bot.services import post_drafts, posts, staff
from bot.services.posts import PostError
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, callback_of, show
from handlers.post_button import button_menu
from handlers.post_card import show_editor
from handlers.post_preview import preview
from handlers.post_ready import ready_menu
from handlers.post_where import where
from handlers.posts_common import (
    LANGUAGE_NAMES,
    back_to_post,
    error_text,
    require_poster,
    when_prompt,
)
from handlers.staff_common import staff_translator


async def new_post(update: Update, context: PeerlineContext) -> None:
    """/post: a new draft, shown in the editor."""
    member = await require_poster(update, context)
    if member is None:
        return
    async with context.runtime.transaction() as session:
        post_id = await post_drafts.create(session, author_id=member.id)
        await staff.set_awaiting(session, member.id, None)
    _ = staff_translator(context, member)
    note = _.gettext(
        "Write the post: press a language and send its text (or a photo or document with a "
        "caption). Or start from a ready-made post."
    )
    await show_editor(update, context, member, post_id, note=note, new=True)


# --- buttons of the editor --------------------------------------------------------------


async def editor_action(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = callback_of(update, PostEditor)
    post_id, action = callback.post_id, callback.action
    runtime = context.runtime
    try:
        if action == "show":
            async with runtime.transaction() as session:
                await staff.set_awaiting(session, member.id, None)
            await show_editor(update, context, member, post_id)
        elif action == "button":
            await show(update, context, *button_menu(_, post_id))
        elif action == "where":
            await where(update, context, member, post_id)
        elif action == "subs":
            async with runtime.transaction() as session:
                post = await posts.get(session, post_id)
                if post is None:
                    raise PostError("not_found")
                await post_drafts.set_subscribers(session, post_id, not post.to_subscribers)
            await where(update, context, member, post_id)
        elif action == "preview":
            await preview(update, context, member, post_id)
        elif action == "ready":
            await show(update, context, *ready_menu(_, context, post_id))
        elif action == "event":
            async with runtime.transaction() as session:
                post = await posts.get(session, post_id)
                if post is None or post.status not in posts.EDITABLE:
                    raise PostError("not_found" if post is None else f"status_{post.status}")
                await staff.set_awaiting(session, member.id, awaiting.PostEvent(post_id))
            rows = [[back_to_post(_, post_id)]]
            if post.event_at is not None:
                rows[0].insert(
                    0,
                    Button(
                        "🚫 " + _.gettext("Not an invitation"),
                        callback_data=encode(PostEditor(post_id=post_id, action="noevent")),
                    ),
                )
            text = _.gettext(
                "Is this post an invitation to an event (a webinar, a campaign day, a self-help "
                'group)? Send the event\'s date and time: readers get a "Remind me" button and '
                "a reminder an hour before."
            )
            await show(
                update,
                context,
                text + "\n\n" + when_prompt(_, runtime.settings.timezone),
                Keyboard(rows),
            )
        elif action == "noevent":
            async with runtime.transaction() as session:
                await post_drafts.set_event(session, post_id, None, now=posts.utcnow())
                await staff.set_awaiting(session, member.id, None)
            await show_editor(update, context, member, post_id)
        elif action == "cancel":
            async with runtime.transaction() as session:
                await post_drafts.cancel(session, post_id, by=member.id)
            await show_editor(
                update, context, member, post_id, note=_.gettext("The post is cancelled.")
            )
    except PostError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)


async def choose_language(update: Update, context: PeerlineContext) -> None:
    """✏️ RU: the admin's next message is that language's version (or, once published, its
    new text); "drop_ru" removes that version."""
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = callback_of(update, PostVersion)
    post_id, choice = callback.post_id, callback.choice
    async with context.runtime.transaction() as session:
        post = await posts.get(session, post_id)
        if post is not None and choice.startswith("drop_") and post.status in posts.EDITABLE:
            await post_drafts.remove_version(session, post_id, choice.removeprefix("drop_"))
        elif post is not None and post.status in (*posts.EDITABLE, posts.PUBLISHED):
            kind = awaiting.PostEdit if post.status == posts.PUBLISHED else awaiting.PostText
            await staff.set_awaiting(session, member.id, kind(post_id, choice))
    if post is None or post.status not in (*posts.EDITABLE, posts.PUBLISHED):
        await answer_query(
            update,
            context,
            error_text(_, "not_found" if post is None else f"status_{post.status}"),
            alert=True,
        )
        return
    if choice.startswith("drop_"):
        await show_editor(update, context, member, post_id)
        return
    name = LANGUAGE_NAMES[choice]
    if post.status == posts.PUBLISHED:
        text = _.gettext(
            "Send the new %(language)s text of post #%(id)s (for a photo or document: its new "
            "caption). It replaces the text in the channels.",
            language=name,
            id=post_id,
        )
    else:
        text = _.gettext(
            "Send the %(language)s version of post #%(id)s: a text, or a photo or document with "
            "a caption. Bold, italics and links are kept.",
            language=name,
            id=post_id,
        )
    rows = [[back_to_post(_, post_id)]]
    if choice in post.versions and post.status in posts.EDITABLE:
        rows[0].insert(
            0,
            Button(
                "🗑 " + _.gettext("Remove %(language)s", language=choice.upper()),
                callback_data=encode(PostVersion(post_id=post_id, choice=f"drop_{choice}")),
            ),
        )
    await show(update, context, text, Keyboard(rows))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("post", new_post, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(editor_action, pattern=pattern_for(PostEditor)))
    app.add_handler(CallbackQueryHandler(choose_language, pattern=pattern_for(PostVersion)))
