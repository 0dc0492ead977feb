"""Publishing posts from the bot process: now (an admin's button) or at their scheduled
time (the maintenance loop), and telling the admin what happened.

The rules (the template's [gaps], something to publish, somewhere to publish it, once only)
are checked by `post_publish.publish` on every path; this module adds what needs the running
bot: the buttons in each language, asking Telegram whether the bot may still post in the
chosen channels, and the notices.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.i18n import Translator
from bot.post_buttons import keyboards
from bot.runtime import Runtime
from bot.services import channels, notify, post_publish, post_schedule, posts, staff
from bot.services.post_publish import Published

log = logging.getLogger(__name__)


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
        result = await post_publish.publish(
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


async def publish_now(runtime: Runtime, bot: Bot, post_id: int, *, by: int) -> Published:
    """An admin's "publish now": the rules are checked first (for a clear answer before
    Telegram is asked anything); each chosen channel is asked, outside any transaction,
    whether the bot may still post there, and one where it may not is paused (and skipped)
    rather than discovered later. PostError says why it cannot be published."""
    async with runtime.transaction() as session:
        post = await posts.get(session, post_id)
        if post is None:
            raise posts.PostError("not_found")
        if post.status not in posts.EDITABLE:
            raise posts.PostError(f"status_{post.status}")
        posts.check_template(post, template_slugs(runtime))
        posts.check_publishable(post)
        chosen = [
            c
            for c in await channels.list_channels(session, active_only=True)
            if c.id in post.channel_ids
        ]
        targets = [(c, await channels.chat_id(session, runtime.keys, c.id)) for c in chosen]
    lost = [channel for channel, chat_id in targets if not await _may_post(bot, chat_id)]
    if lost:
        async with runtime.transaction() as session:
            for channel in lost:
                await channels.deactivate(session, channel.id, channels.NO_RIGHTS, by=by)
    result = await publish(runtime, post_id, now=posts.utcnow(), by=by)
    if result is None:  # someone else published it meanwhile
        raise posts.PostError("status_published")
    return result


async def _may_post(bot: Bot, chat_id: int) -> bool:
    try:
        me = await bot.get_chat_member(chat_id, bot.id)
    except TelegramError:
        return False
    if me.status != ChatMemberStatus.ADMINISTRATOR:
        return False
    return getattr(me, "can_post_messages", None) is not False


async def publish_due(runtime: Runtime, now: datetime) -> int:
    """Publish every scheduled post whose time has come; returns how many. Each in its own
    transaction, so one broken post does not hold the others back."""
    async with runtime.transaction() as session:
        due = await post_schedule.due(session, now)
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
                await post_schedule.unschedule(session, post_id, by=None)
                await _tell_author_unpublished(runtime, session, post_id, exc.code)
    return published


async def _tell_author_unpublished(
    runtime: Runtime, session: AsyncSession, post_id: int, code: str
) -> None:
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
        text=(
            _.gettext(
                "⚠️ Scheduled post #%(id)s was not published: it is a template, and parts in "
                "[brackets] are still to be filled in. It is a draft again: /posts",
                id=post_id,
            )
            if code == "template"
            else _.gettext(
                "⚠️ Scheduled post #%(id)s was not published: it has no text or nowhere to go. "
                "It is a draft again: /posts",
                id=post_id,
            )
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
