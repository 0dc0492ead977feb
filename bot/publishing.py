"""Publishing posts from the bot process: buttons in each language, due scheduled posts, and
what a failed delivery means.

Shared by the handlers (publish now, preview) and the maintenance loop (scheduled posts), so
it lives here, above the services and below both.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.models import Client
from bot.runtime import Runtime
from bot.services import (
    channels,
    clients,
    notify,
    outbox,
    outbox_results,
    posts,
    pseudonyms,
    queue,
    recorded,
    reminders,
    staff,
)
from bot.services.outbox_claim import Delivery
from bot.services.posts import PostView, Published

log = logging.getLogger(__name__)

POSTING_ROLES = frozenset({"channel_admin", "admin"})
# /start remind_<post id>: the "remind me" button of an invitation opens the bot with it.
REMIND_PREFIX = "remind_"

# Errors after which the bot cannot post in a channel until an admin fixes it there.
_NO_RIGHTS = (
    "Forbidden",
    "rights",
    "not a member",
    "chat not found",
    "kicked",
    "CHAT_WRITE_FORBIDDEN",
    "administrator",
    "ChatMigrated",
)


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
    if post.event_at is not None and post.event_at > (now or posts.utcnow()):
        _ = runtime.i18n.get(language)
        remind = deep_link(runtime, f"{REMIND_PREFIX}{post.id}")
        rows.append([{"text": "🔔 " + _.gettext("Remind me"), "url": remind}])
    return {"inline_keyboard": rows} if rows else None


def keyboards(runtime: Runtime, post: PostView) -> dict[str, dict[str, Any] | None]:
    return {language: keyboard(runtime, post, language) for language in post.versions}


def template_slugs(runtime: Runtime) -> frozenset[str]:
    """The ready-made posts with gaps to fill ([CITY]): never published with one left."""
    return frozenset(p.slug for p in runtime.ready_posts if p.template)


async def publish(
    runtime: Runtime, post_id: int, *, now: datetime, by: int | None, scheduled: bool = False
) -> Published | None:
    """Publish one post (one transaction), then wake the delivery worker."""
    async with runtime.transaction() as session:
        post = await posts.get(session, post_id)
        if post is None:
            return None
        result = await posts.publish(
            session,
            runtime.keys,
            post_id,
            now=now,
            keyboards=keyboards(runtime, post),
            template_slugs=template_slugs(runtime),
            scheduled=scheduled,
            by=by,
        )
        if result is not None and scheduled and post.author_id is not None:
            await _tell_author(runtime, session, post.author_id, result)
    return result


async def publish_due(runtime: Runtime, now: datetime) -> int:
    """Publish every scheduled post whose time has come; returns how many. Each in its own
    transaction, so one broken post does not hold the others back."""
    async with runtime.transaction() as session:
        due = await posts.due(session, now)
    published = 0
    for post_id in due:
        try:
            if await publish(runtime, post_id, now=now, by=None, scheduled=True):
                published += 1
        except posts.PostError as exc:
            # Nothing to publish or nobody to publish to (e.g. its only channel was removed):
            # back to draft, and the author is told, rather than trying every minute.
            log.warning("scheduled post %d not published: %s", post_id, exc.code)
            async with runtime.transaction() as session:
                await posts.unschedule(session, post_id, by=None)
                await _tell_author_unpublished(runtime, session, post_id)
    return published


async def _tell_author_unpublished(runtime: Runtime, session: AsyncSession, post_id: int) -> None:
    post = await posts.get(session, post_id)
    member = await staff.get(session, post.author_id) if post and post.author_id else None
    if member is None or not member.active:
        return
    _ = runtime.i18n.get(member.languages[0] if member.languages else None)
    await notify.send(
        session,
        runtime.keys,
        chat_ref=await staff.chat_ref(session, member.id),
        recipient=f"staff:{member.id}",
        text=_.gettext(
            "⚠️ Scheduled post #%(id)s was not published: it has no text or nowhere to go. "
            "It is a draft again: /posts",
            id=post_id,
        ),
    )


def summary(_: Translator, result: Published) -> str:
    """What a publication did, for the admin."""
    lines = [_.gettext("Post #%(id)s is published.", id=result.post_id)]
    for _channel_id, title, language in result.channels:
        lines.append(
            _.gettext(
                "📢 %(title)s (%(language)s)", title=html.escape(title), language=language.upper()
            )
        )
    for language, count in sorted(result.subscribers.items()):
        lines.append(
            _.ngettext(
                "👥 %(count)s subscriber (%(language)s)",
                "👥 %(count)s subscribers (%(language)s)",
                count,
                count=count,
                language=language.upper(),
            )
        )
    if not result.channels and not result.subscribers:
        lines.append(_.gettext("Nobody received it: no channel and no subscriber matched."))
    for skipped in result.skipped:
        lines.append("⚠️ " + skip_reason(_, skipped.title, skipped.reason))
    return "\n".join(lines)


def skip_reason(_: Translator, title: str, reason: str) -> str:
    title = html.escape(title)
    if reason == "inactive":
        return _.gettext(
            "%(title)s skipped: the bot cannot post there now (see /channels).", title=title
        )
    if reason == "no_language":
        return _.gettext("%(title)s skipped: its language is not set (see /channels).", title=title)
    return _.gettext("%(title)s skipped: the post has no version in its language.", title=title)


async def _tell_author(
    runtime: Runtime, session: AsyncSession, author_id: int, result: Published
) -> None:
    member = await staff.get(session, author_id)
    if member is None or not member.active:
        return
    _ = runtime.i18n.get(member.languages[0] if member.languages else None)
    await notify.send(
        session,
        runtime.keys,
        chat_ref=await staff.chat_ref(session, author_id),
        recipient=f"staff:{author_id}",
        text=summary(_, result),
    )


def reminder_text(runtime: Runtime, post: PostView, language: str | None) -> str:
    """The reminder of an invitation's event, in the client's language."""
    _ = runtime.i18n.get(language)
    version = post.versions.get(language or "") or next(iter(post.versions.values()), None)
    title = html.escape(posts.title_of(version)) if version else f"#{post.id}"
    zone = ZoneInfo(runtime.settings.timezone)
    when = post.event_at.astimezone(zone).strftime("%d.%m.%Y %H:%M") if post.event_at else "?"
    return _.gettext(
        "🔔 Reminder: %(title)s — starts %(when)s (%(zone)s).",
        title=title,
        when=when,
        zone=runtime.settings.timezone,
    )


async def send_due_reminders(runtime: Runtime, now: datetime) -> int:
    """Queue every reminder whose time has come (one transaction); returns how many."""
    async with runtime.transaction() as session:
        due = await reminders.claim_due(session, now)
        for item in due:
            post = await posts.get(session, item.post_id)
            if post is None:
                continue
            await notify.send(
                session,
                runtime.keys,
                chat_ref=await clients.chat_ref(session, item.client_id),
                recipient=f"client:{item.client_id}",
                text=reminder_text(runtime, post, item.language),
                protect_content=runtime.settings.protect_content,
            )
    return len(due)


def make_on_dead(runtime: Runtime):  # type: ignore[no-untyped-def]
    """The delivery worker's hook for rows it gave up on."""

    async def on_dead(session: AsyncSession, delivery: Delivery, error: str) -> None:
        kind, _, ident = delivery.recipient.partition(":")
        if kind == "client" and error.startswith("Forbidden"):
            # They blocked the bot: no more news, rather than failing every broadcast.
            await session.execute(
                update(Client).where(Client.id == int(ident)).values(subscribed_at=None)
            )
        elif kind == "channel" and delivery.post_id is not None:
            await _channel_failed(runtime, session, int(ident), delivery, error)
        if delivery.message_id is not None and kind in ("client", "staff"):
            await _relay_failed(runtime, session, delivery, error)

    return on_dead


async def _relay_failed(
    runtime: Runtime, session: AsyncSession, delivery: Delivery, error: str
) -> None:
    """A relayed message (or its edit) that will never arrive: its sender is told, in their
    language, once per message and recipient, so they can send it again. A mirror into the
    staff group is not a person's copy, and an edit that changed nothing lost nothing."""
    if "not modified" in error:
        return
    sender = await recorded.sender_of(session, runtime.keys, delivery.message_id or 0)
    if (
        sender is None
        or await outbox_results.dead_count(session, delivery.message_id or 0, delivery.recipient)
        > 1
    ):
        return
    edit = delivery.method.startswith("edit")
    if sender.author == "client":
        _ = runtime.i18n.get(await clients.language_of(session, sender.client_id))
        text = (
            _.gettext(
                "⚠️ The consultant did not receive your change to this message. "
                "Please send the new version as a new message."
            )
            if edit
            else _.gettext(
                "⚠️ The consultant did not receive this message (nor the ones right after it, "
                "if you sent several at once). Please send it again; if it was long, in "
                "shorter parts."
            )
        )
        params: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
        if sender.source_message_id:
            params["reply_parameters"] = {
                "message_id": sender.source_message_id,
                "allow_sending_without_reply": True,
            }
        await outbox.enqueue(
            session,
            runtime.keys,
            chat_ref=await clients.chat_ref(session, sender.client_id),
            recipient=f"client:{sender.client_id}",
            method="sendMessage",
            params=params,
        )
        return
    member = await staff.get(session, sender.staff_id) if sender.staff_id else None
    conversation = await queue.get(session, sender.conversation_id)
    if member is None or not member.active or conversation is None:
        return
    _ = runtime.i18n.get(member.languages[0] if member.languages else None)
    who = html.escape(client_name(_, conversation.pseudonym))
    why = (
        _.gettext("the client has blocked the bot or deleted the chat")
        if error.startswith("Forbidden")
        else html.escape(outbox_results.short_error(error)[:120])
    )
    quote = html.escape((sender.text or "")[:80])
    text = _.gettext(
        "⚠️ Your message to %(client)s could not be delivered (%(reason)s). Please send it again.",
        client=who,
        reason=why,
    )
    await notify.send(
        session,
        runtime.keys,
        chat_ref=await staff.chat_ref(session, member.id),
        recipient=f"staff:{member.id}",
        text=text + (f"\n<i>{quote}</i>" if quote else ""),
    )


def client_name(_: Translator, pseudonym: str | None) -> str:
    """ "Blue Fox 42" in the reader's language, as everywhere staff read a client's name."""
    return pseudonyms.display(_, pseudonym)


async def _channel_failed(
    runtime: Runtime, session: AsyncSession, channel_id: int, delivery: Delivery, error: str
) -> None:
    channel = await channels.get(session, channel_id)
    post = await posts.get(session, delivery.post_id) if delivery.post_id else None
    if channel is None or post is None:
        return
    lost_rights = any(marker in error for marker in _NO_RIGHTS)
    if lost_rights:
        await channels.deactivate(session, channel_id, channels.NO_RIGHTS)
    recipients = [post.author_id] if post.author_id else []
    if not recipients:
        recipients = [m.id for m in await staff.list_staff(session) if m.role in POSTING_ROLES]
    for member_id in recipients:
        member = await staff.get(session, member_id)
        if member is None or not member.active:
            continue
        _ = runtime.i18n.get(member.languages[0] if member.languages else None)
        if lost_rights:
            text = _.gettext(
                "⚠️ Post #%(id)s could not go to %(title)s: the bot is no longer allowed to "
                "post there (it was removed or lost its admin rights). The channel is paused. "
                "Add the bot back as an administrator who may post messages: the channel is "
                "then registered again.",
                id=post.id,
                title=html.escape(channel.title),
            )
        elif delivery.method == "deleteMessage":
            text = _.gettext(
                "⚠️ Post #%(id)s could not be deleted in %(title)s. Telegram lets bots delete "
                "only messages younger than 48 hours: delete it there by hand.",
                id=post.id,
                title=html.escape(channel.title),
            )
        else:
            text = _.gettext(
                "⚠️ Post #%(id)s: Telegram refused it in %(title)s (%(error)s).",
                id=post.id,
                title=html.escape(channel.title),
                error=html.escape(outbox_results.short_error(error)[:120]),
            )
        await notify.send(
            session,
            runtime.keys,
            chat_ref=await staff.chat_ref(session, member_id),
            recipient=f"staff:{member_id}",
            text=text,
        )
