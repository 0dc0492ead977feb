"""Channel admins review clients' stories: /stories lists those waiting; approving makes a draft
post of one (edited and published like any post), rejecting tells the author why, in their
language (bot/story_decisions.py). Either way the story row forgets its text and its author."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import story_decisions
from bot.callbacks import StoryReview, encode, pattern_for
from bot.i18n import Translator
from bot.services import stories
from bot.services.staff import StaffView
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, callback_of, escape, show
from handlers.post_card import show_editor
from handlers.posts_common import require_poster
from handlers.staff_common import staff_translator

SNIPPET = 40


async def list_stories(update: Update, context: PeerlineContext) -> None:
    """/stories: stories waiting for a decision, oldest first."""
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    runtime = context.runtime
    async with runtime.transaction() as session:
        waiting = await stories.pending(session, runtime.keys)
    if not waiting:
        await show(update, context, _.gettext("No stories are waiting for review."))
        return
    rows = []
    for story in waiting:
        first = " ".join((story.text or "").split())[:SNIPPET]
        rows.append(
            [
                Button(
                    f"#{story.id} {story.language.upper()} · {first}…",
                    callback_data=encode(StoryReview(story_id=story.id, decision="show")),
                )
            ]
        )
    text = _.ngettext(
        "%(n)s story is waiting for review:", "%(n)s stories are waiting for review:", len(waiting)
    )
    await show(update, context, text, Keyboard(rows))


async def review(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = callback_of(update, StoryReview)
    story_id, action = callback.story_id, callback.decision
    runtime = context.runtime
    if action == "show":
        async with runtime.transaction() as session:
            story = await stories.get(session, runtime.keys, story_id)
        if story is None or story.status != stories.PENDING:
            await _decided(update, context, _)
            return
        await show(update, context, *_story_screen(_, story.id, story.language, story.text or ""))
    elif action == "approve":
        await _approve(update, context, member, story_id)
    elif action == "reject":
        rows = [
            [
                Button(
                    _.gettext(label),
                    callback_data=encode(StoryReview(story_id=story_id, decision=reason)),
                )
            ]
            for reason, label in story_decisions.REASONS.items()
        ]
        rows.append(
            [
                Button(
                    "↩️ " + _.gettext("Back"),
                    callback_data=encode(StoryReview(story_id=story_id, decision="show")),
                )
            ]
        )
        await show(
            update,
            context,
            _.gettext("Why is it not published? The author is told this, in their language."),
            Keyboard(rows),
        )
    else:
        await _reject(update, context, member, story_id, action)


def _story_screen(_: Translator, story_id: int, language: str, text: str) -> tuple[str, Keyboard]:
    body = "\n\n".join(
        [
            _.gettext(
                "<b>Story #%(id)s</b> (%(language)s)", id=story_id, language=language.upper()
            ),
            f"<blockquote>{escape(text)}</blockquote>",
            _.gettext(
                "Approving makes a draft post of it: you can edit it, add other languages and "
                "choose where it goes. Rejecting tells the author why."
            ),
        ]
    )
    rows = [
        [
            Button(
                "✅ " + _.gettext("Approve"),
                callback_data=encode(StoryReview(story_id=story_id, decision="approve")),
            ),
            Button(
                "❌ " + _.gettext("Reject"),
                callback_data=encode(StoryReview(story_id=story_id, decision="reject")),
            ),
        ]
    ]
    return body, Keyboard(rows)


async def _decided(update: Update, context: PeerlineContext, _: Translator) -> None:
    await show(update, context, _.gettext("This story has already been reviewed."))


async def _approve(
    update: Update, context: PeerlineContext, member: StaffView, story_id: int
) -> None:
    _ = staff_translator(context, member)
    post_id = await story_decisions.approve(context.runtime, story_id, by=member.id)
    if post_id is None:
        await _decided(update, context, _)
        return
    note = _.gettext("A draft post was made from story #%(id)s.", id=story_id)
    await show_editor(update, context, member, post_id, note=note)


async def _reject(
    update: Update, context: PeerlineContext, member: StaffView, story_id: int, reason: str
) -> None:
    _ = staff_translator(context, member)
    if not await story_decisions.reject(context.runtime, story_id, reason, by=member.id):
        await _decided(update, context, _)
        return
    await show(
        update,
        context,
        _.gettext("Story #%(id)s is not published; the author was told why.", id=story_id),
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("stories", list_stories, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(review, pattern=pattern_for(StoryReview)))
