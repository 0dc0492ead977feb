"""A post's buttons in each language, as Bot API JSON: its own button (a link, or a deep
link into the bot) and "remind me" under an invitation. The same buttons go to the channels,
to subscribers and to the admin's preview."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.runtime import Runtime
from bot.services.posts import PostView, utcnow

# /start remind_<post id>: the "remind me" button of an invitation opens the bot with it.
REMIND_PREFIX = "remind_"


def deep_link(runtime: Runtime, node_id: str) -> str:
    return f"https://t.me/{(runtime.bot_username or '').lstrip('@')}?start={node_id}"


def button_label(runtime: Runtime, post: PostView, language: str) -> str | None:
    _ = runtime.i18n.get(language)
    if post.button_kind == "consult":
        return "💬 " + _.gettext("Ask a consultant anonymously")
    if post.button_kind == "node" and post.button_target:
        if runtime.content.node(post.button_target) is None:
            return None
        return runtime.content.button(post.button_target, language)
    if post.button_kind == "url":
        return post.button_label
    return None


def button_url(runtime: Runtime, post: PostView) -> str | None:
    """Where the post's own button leads: its link, or a deep link into the bot. "Ask a
    consultant" goes straight to the request on the post's topic (after onboarding for new
    readers), not to a topic menu that needs a second tap."""
    if not post.button_target:
        return None
    if post.button_kind == "url":
        return post.button_target
    if post.button_kind == "consult":
        node = runtime.content.node(post.button_target)
        topic = node.consult if node is not None and node.consult else "general"
        return deep_link(runtime, f"ask_{topic}")
    return deep_link(runtime, post.button_target)


def keyboard(
    runtime: Runtime, post: PostView, language: str, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """The post's buttons in one language, as Bot API JSON (None: no button): its own button,
    and "remind me" under an invitation to an event still ahead."""
    rows = []
    label = button_label(runtime, post, language)
    url = button_url(runtime, post)
    if label is not None and url is not None:
        rows.append([{"text": label, "url": url}])
    if post.event_at is not None and post.event_at > (now or utcnow()):
        _ = runtime.i18n.get(language)
        remind = deep_link(runtime, f"{REMIND_PREFIX}{post.id}")
        rows.append([{"text": "🔔 " + _.gettext("Remind me"), "url": remind}])
    return {"inline_keyboard": rows} if rows else None


def keyboards(runtime: Runtime, post: PostView) -> dict[str, dict[str, Any] | None]:
    return {language: keyboard(runtime, post, language) for language in post.versions}
