"""Lines of the post editor card (handlers/post_card.py): the post's button, how far its
delivery is, and what subscribers without a version of their own get."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton as Button

from bot.callbacks import PostFallback, encode
from bot.i18n import Translator
from bot.post_buttons import button_label, button_url
from bot.runtime import Runtime
from bot.services import posts
from bot.services.post_copies import Delivery
from bot.services.posts import PostView


def button_line(_: Translator, runtime: Runtime, post: PostView, language: str) -> str:
    if post.button_kind == "none":
        return _.gettext("Button: none")
    label = button_label(runtime, post, language) or "?"
    target = post.button_target or ""
    if post.button_kind in ("consult", "node"):
        url = button_url(runtime, post) or ""
        target = "t.me/…?start=" + url.partition("?start=")[2]
    return _.gettext(
        "Button: %(label)s → %(target)s", label=html.escape(label), target=html.escape(target)
    )


def delivery_lines(_: Translator, delivery: Delivery) -> list[str]:
    marks = {"sent": "✅", "pending": "⏳", "dead": "⚠️"}
    lines = []
    for _channel_id, title, status, error in delivery.channels:
        line = f"{marks.get(status, '?')} 📢 {html.escape(title)}"
        if status == "dead" and error:
            line += f" ({html.escape(error[:80])})"
        lines.append(line)
    if delivery.subscribers:
        lines.append(
            _.gettext(
                "👥 subscribers: %(sent)s sent, %(pending)s waiting, %(dead)s not delivered",
                sent=delivery.subscribers.get("sent", 0),
                pending=delivery.subscribers.get("pending", 0),
                dead=delivery.subscribers.get("dead", 0),
            )
        )
    return lines


def others_line(_: Translator, post: PostView, subscribers: dict[str, int]) -> str:
    """Subscribers this post has no version for, and what they get: never a silent nothing."""
    missing = posts.without_version(post, subscribers)
    if not missing:
        return ""
    who = ", ".join(f"{code.upper()} {n}" for code, n in sorted(missing.items()))
    if post.others_get in post.versions:
        assert post.others_get is not None
        return _.gettext(
            "👥 No version for some subscribers (%(who)s): they get the %(language)s version.",
            who=who,
            language=post.others_get.upper(),
        )
    return _.gettext(
        "⚠️ No version for some subscribers (%(who)s): they get nothing. Write their version, "
        "or send them another one (buttons below).",
        who=who,
    )


def others_buttons(_: Translator, post: PostView, subscribers: dict[str, int]) -> list[Button]:
    """ "Send them RU" for each version the post has; "send them nothing" once one is set."""
    if not post.to_subscribers or not posts.without_version(post, subscribers):
        return []
    buttons = [
        Button(
            "👥 → " + code.upper(),
            callback_data=encode(PostFallback(post_id=post.id, language=code)),
        )
        for code in post.languages
        if code != post.others_get
    ]
    if post.others_get is not None:
        buttons.append(
            Button("👥 ✖", callback_data=encode(PostFallback(post_id=post.id, language="none")))
        )
    return buttons
