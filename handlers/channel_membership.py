"""The bot's own membership in channels: added (the channel is registered and whoever added
it, if they are a channel admin here, is asked for its language), made an administrator
without the right to post (they are told what is missing), removed or demoted (the channel is
paused and the channel admins are told)."""

from __future__ import annotations

import html
import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import ChatMember, ChatMemberAdministrator, Update
from telegram.constants import ChatType
from telegram.ext import Application, ChatMemberHandler

from bot.runtime import Runtime
from bot.services import channels, notify, staff
from bot.services.channels import ChannelView
from handlers.channels import language_keyboard, problem_text, registered_text
from handlers.common import PeerlineContext

log = logging.getLogger(__name__)


async def membership_changed(update: Update, context: PeerlineContext) -> None:
    """The bot was added to, promoted in, demoted in or removed from a channel."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.CHANNEL:
        return
    runtime = context.runtime
    new = change.new_chat_member
    can_post = new.status == ChatMember.ADMINISTRATOR and (
        not isinstance(new, ChatMemberAdministrator) or new.can_post_messages is not False
    )
    async with runtime.transaction() as session:
        known = await channels.find_by_chat(session, runtime.keys, change.chat.id)
        adder = await staff.find_by_telegram(session, runtime.keys, change.from_user.id)
        poster = adder if adder is not None and adder.role in channels.POSTING_ROLES else None
        if can_post and poster is not None:
            channel = await channels.register(
                session,
                runtime.keys,
                chat_id=change.chat.id,
                title=change.chat.title or "?",
                by=poster.id,
            )
            _ = runtime.i18n.get(poster.languages[0] if poster.languages else None)
            await notify.send(
                session,
                runtime.keys,
                chat_ref=await staff.chat_ref(session, poster.id),
                recipient=f"staff:{poster.id}",
                text=registered_text(_, channel),
                buttons=language_keyboard(channel.id),
            )
        elif can_post:
            # Someone who is not a channel admin here: the channel stays unregistered.
            log.info("added to a channel by someone who is not a channel admin; ignored")
            return
        elif poster is not None and new.status == ChatMember.ADMINISTRATOR:
            # Made an administrator, but without the right to post: say what is missing.
            _ = runtime.i18n.get(poster.languages[0] if poster.languages else None)
            await notify.send(
                session,
                runtime.keys,
                chat_ref=await staff.chat_ref(session, poster.id),
                recipient=f"staff:{poster.id}",
                text=problem_text(_, "bot_cannot_post"),
            )
            if known is not None and known.active:
                await channels.deactivate(session, known.id, channels.NO_RIGHTS)
        elif known is not None and known.active:
            await channels.deactivate(
                session,
                known.id,
                channels.REMOVED if new.status in ("left", "kicked") else channels.NO_RIGHTS,
            )
            await _tell_posters(runtime, session, known)
        else:
            return


async def _tell_posters(runtime: Runtime, session: AsyncSession, channel: ChannelView) -> None:
    await notify.posters(
        session,
        runtime,
        lambda _: _.gettext(
            "⚠️ The bot can no longer post in %(title)s (it was removed or lost its admin "
            "rights). The channel is paused; posts skip it. Add the bot back as an "
            "administrator who may post messages to resume.",
            title=html.escape(channel.title),
        ),
    )


def register(app: Application) -> None:
    app.add_handler(ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
