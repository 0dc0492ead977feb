"""Starting a post from a ready-made one (content/posts): every language and its button
filled in at once; a template's [gaps] must be filled in before it can go out."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.callbacks import ReadyPost, encode, pattern_for
from bot.i18n import Translator
from bot.services import post_drafts, posts
from bot.services.posts import PostError
from bot.services.ready_posts import upcoming
from handlers.common import PeerlineContext, answer_query, callback_of
from handlers.post_card import show_editor
from handlers.posts_common import LANGUAGE_NAMES, back_to_post, error_text, require_poster
from handlers.staff_common import staff_translator


def ready_menu(_: Translator, context: PeerlineContext, post_id: int) -> tuple[str, Keyboard]:
    ready = context.runtime.ready_posts
    language = _.language if _.language in LANGUAGE_NAMES else "en"
    soon = upcoming(ready, posts.utcnow().date())
    ordered = [*soon, *(p for p in ready if p not in soon)]
    rows = [
        [
            Button(
                ("📅 " if item in soon else "") + item.title.get(language, item.slug),
                callback_data=encode(ReadyPost(post_id=post_id, slug=item.slug)),
            )
        ]
        for item in ordered
    ]
    rows.append([back_to_post(_, post_id)])
    text = _.gettext(
        "Ready-made posts, in all four languages, with sources. 📅 marks a date coming up. "
        "You can change the text afterwards."
    )
    return text, Keyboard(rows)


async def use_ready(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = callback_of(update, ReadyPost)
    post_id, slug = callback.post_id, callback.slug
    ready = next((p for p in context.runtime.ready_posts if p.slug == slug), None)
    if ready is None:
        await answer_query(update, context, error_text(_, "not_found"), alert=True)
        return
    try:
        async with context.runtime.transaction() as session:
            for language, text in ready.text.items():
                await post_drafts.set_version(session, post_id, language, kind="text", text=text)
            if ready.button == "consult":
                await post_drafts.set_button(
                    session, post_id, "consult", target=context.runtime.content.root
                )
            elif ready.button != "none":
                await post_drafts.set_button(session, post_id, "node", target=ready.button)
            await post_drafts.mark_ready(session, post_id, slug)
    except PostError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)
        return
    note = (
        _.gettext("⚠️ This is a template: replace the parts in [brackets] in every language.")
        if ready.template
        else ""
    )
    await show_editor(update, context, member, post_id, note=note)


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(use_ready, pattern=pattern_for(ReadyPost)))
