"""Shared by the channel-admin flows (channels, composing, managing posts, surveys, stories):
who may post, the words for a post's states and errors, and times in the organisation's zone.
The post's editor card, which every action on a post comes back to, is handlers/post_card.py.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton as Button
from telegram import Update

from bot.callbacks import PostEditor, encode
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services import channels, posts
from bot.services.posts import PostView
from bot.services.staff import StaffView
from handlers.common import PeerlineContext, answer_query
from handlers.staff_common import current_staff, staff_translator, telegram_language

LANGUAGE_NAMES = {"ru": "Русский", "uk": "Українська", "kk": "Қазақша", "en": "English"}
PREVIEW_CHARS = 40


async def require_poster(update: Update, context: PeerlineContext) -> StaffView | None:
    """The sender as a channel admin (or admin), checked in the database; or a refusal."""
    member = await current_staff(update, context)
    if member is not None and member.role in channels.POSTING_ROLES:
        return member
    _ = staff_translator(context, member) if member else telegram_language(update, context)
    text = _.gettext("This is for channel admins only.")
    if update.callback_query:
        await answer_query(update, context, text, alert=True)
    elif update.effective_message:
        await update.effective_message.reply_text(text)
    return None


def back_to_post(_: Translator, post_id: int) -> Button:
    """ "Back" to the post's editor card (from every screen about one post)."""
    return Button(
        "↩️ " + _.gettext("Back"), callback_data=encode(PostEditor(post_id=post_id, action="show"))
    )


def local_time(runtime: Runtime, moment: datetime | None) -> str:
    if moment is None:
        return "—"
    zone = ZoneInfo(runtime.settings.timezone)
    return moment.astimezone(zone).strftime("%d.%m.%Y %H:%M")


def status_label(_: Translator, status: str) -> str:
    labels = {
        posts.DRAFT: _.gettext("draft"),
        posts.SCHEDULED: _.gettext("scheduled"),
        posts.PUBLISHED: _.gettext("published"),
        posts.CANCELLED: _.gettext("cancelled"),
        posts.DELETED: _.gettext("deleted"),
    }
    return labels.get(status, status)


def error_text(_: Translator, code: str) -> str:
    """A PostError code, explained."""
    texts = {
        "not_found": _.gettext("That post does not exist."),
        "empty": _.gettext("The text is empty."),
        "too_long": _.gettext("The text is too long: Telegram allows 4096 characters."),
        "caption_too_long": _.gettext(
            "The caption is too long: Telegram allows 1024 characters under a photo or file."
        ),
        "no_file": _.gettext("Send a text, a photo or a document."),
        "bad_label": _.gettext("The button text must be 1 to 64 characters."),
        "bad_url": _.gettext("The link must start with https:// (or tg://)."),
        "no_versions": _.gettext("Write the post in at least one language first."),
        "no_audience": _.gettext("Choose at least one channel, or the subscribers."),
        "in_past": _.gettext("That time has already passed. Send a time in the future."),
        "too_far": _.gettext("That is more than a year ahead."),
        "no_version": _.gettext("The post has no version in that language."),
        "template": _.gettext(
            "This post is a template: fill in the parts in [brackets] in every language first."
        ),
    }
    if code.startswith("status_"):
        return _.gettext(
            "This post is %(status)s: that cannot be done any more.",
            status=status_label(_, code.removeprefix("status_")),
        )
    return texts.get(code, _.gettext("That cannot be done with this post."))


def snippet(post: PostView) -> str:
    """The first words of the post, for lists."""
    for language in post.languages:
        text = " ".join(posts.plain_text(post.versions[language].text).split())
        if text:
            return text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else "")
        return "📎"
    return "…"


def when_prompt(_: Translator, zone: str) -> str:
    return _.gettext(
        "When should it be published? Send a date and time (%(zone)s), for example:\n"
        "25.12 10:00 — on 25 December at 10:00\n"
        "2026-12-25 10:00\n"
        "18:30 — today (or tomorrow, if that time has passed)\n"
        "+30 — in 30 minutes",
        zone=zone,
    )
