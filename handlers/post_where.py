"""Where a post goes: the registered channels (each gets the version in its language) and
the bot's subscribers (each gets the version in the language they read the bot in)."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.callbacks import PostChannel, PostEditor, encode, pattern_for
from bot.services import channels, post_drafts, posts
from bot.services.posts import PostError
from bot.services.staff import StaffView
from handlers.common import PeerlineContext, answer_query, callback_of, show
from handlers.posts_common import back_to_post, error_text, require_poster
from handlers.staff_common import staff_translator


async def where(update: Update, context: PeerlineContext, member: StaffView, post_id: int) -> None:
    _ = staff_translator(context, member)
    async with context.runtime.transaction() as session:
        post = await posts.get(session, post_id)
        known = await channels.list_channels(session, active_only=True)
        readers = await posts.subscribers_by_language(session)
    if post is None:
        raise PostError("not_found")
    rows = []
    for channel in known:
        mark = "✅" if channel.id in post.channel_ids else "▫️"
        language = (channel.language or "?").upper()
        rows.append(
            [
                Button(
                    f"{mark} {channel.title} ({language})",
                    callback_data=encode(PostChannel(post_id=post_id, channel_id=channel.id)),
                )
            ]
        )
    total = sum(readers.get(code, 0) for code in post.languages) if post.versions else 0
    mark = "✅" if post.to_subscribers else "▫️"
    rows.append(
        [
            Button(
                f"{mark} " + _.gettext("Subscribers of the bot (%(n)s)", n=total),
                callback_data=encode(PostEditor(post_id=post_id, action="subs")),
            )
        ]
    )
    rows.append([back_to_post(_, post_id)])
    text = _.gettext(
        "Where does post #%(id)s go? Each channel gets the version in its language; each "
        "subscriber the version in the language they read the bot in.",
        id=post_id,
    )
    if not known:
        text += "\n\n" + _.gettext("No channels are registered yet: see /channels.")
    await show(update, context, text, Keyboard(rows))


async def toggle_channel(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = callback_of(update, PostChannel)
    post_id, channel_id = callback.post_id, callback.channel_id
    try:
        async with context.runtime.transaction() as session:
            await post_drafts.toggle_channel(session, post_id, channel_id)
        await where(update, context, member, post_id)
    except PostError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(toggle_channel, pattern=pattern_for(PostChannel)))
