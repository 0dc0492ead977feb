"""Staff forum mode (optional): each conversation mirrored in a topic of the staff supergroup.

Shared by the flows that open, relay and close conversations. Everything is a no-op when
PEERLINE_STAFF_GROUP_ID is not set; private-chat mode works the same either way. The topic
shows the pseudonym and the topic of the request only, never who the client is.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.error import TelegramError

from bot.callbacks import Take, encode
from bot.i18n import Translator
from bot.services import clients, forum_topics, notify, recorded, relay
from bot.services.queue import ConversationView
from bot.services.relay import Incoming
from handlers import screens
from handlers.common import PeerlineContext, escape

log = logging.getLogger(__name__)


def group_id(context: PeerlineContext) -> int | None:
    return context.runtime.settings.staff_group_id


def group_translator(context: PeerlineContext) -> Translator:
    """The staff group reads the bot in the organisation's default language."""
    return context.runtime.i18n.get(None)


async def open_topic(context: PeerlineContext, conversation: ConversationView) -> None:
    """After the request is committed: create its topic (a direct call: its id is needed at
    once), store it, post the request with a Take button, and what the client wrote so far."""
    group = group_id(context)
    if group is None:
        return
    runtime = context.runtime
    _ = group_translator(context)
    name = screens.conversation_line(_, conversation)[:120]
    try:
        topic = await context.bot.create_forum_topic(group, name)
    except TelegramError as exc:  # no rights or topics off: private-chat mode still works
        log.warning("could not create a staff-group topic: %s", exc.message)
        return
    thread = topic.message_thread_id
    chat_ref = runtime.keys.encrypt_chat_id(group)
    async with runtime.transaction() as session:
        await forum_topics.set_forum_topic(session, conversation.id, thread)
        label = _.gettext("🚨 URGENT request") if conversation.urgent else _.gettext("New request")
        take = [
            [
                {
                    "text": _.gettext("Take it"),
                    "callback_data": encode(Take(conversation_id=conversation.id)),
                }
            ]
        ]
        await notify.send(
            session,
            runtime.keys,
            chat_ref=chat_ref,
            recipient=f"forum:{conversation.id}",
            text=f"<b>{label}</b>: " + screens.conversation_line(_, conversation),
            buttons=take,
            thread_id=thread,
        )
        client_chat = await clients.chat_id(session, runtime.keys, conversation.client_id)
        for message_id, incoming in await recorded.client_messages(
            session, runtime.keys, conversation.id, client_chat
        ):
            await mirror(context, session, conversation, message_id, incoming, thread=thread)


async def mirror(
    context: PeerlineContext,
    session: AsyncSession,
    conversation: ConversationView,
    message_id: int,
    incoming: Incoming,
    *,
    header: str | None = None,
    thread: int | None = None,
) -> None:
    """Copy a recorded message of the conversation into its topic (if it has one)."""
    group = group_id(context)
    if group is None:
        return
    thread = thread or await forum_topics.forum_topic_of(session, conversation.id)
    if thread is None:
        return
    _ = group_translator(context)
    await relay.to_staff(
        session,
        context.runtime.keys,
        message_id=message_id,
        incoming=incoming,
        staff_id=0,
        staff_chat_ref=context.runtime.keys.encrypt_chat_id(group),
        header=header or screens.client_header(_, conversation.pseudonym),
        recipient=f"forum:{conversation.id}",
        thread_id=thread,
        protect_content=context.runtime.settings.protect_content,
    )


def staff_header(name: str) -> str:
    return f"💬 <b>{escape(name)}</b>"
