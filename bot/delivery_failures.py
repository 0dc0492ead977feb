"""What a failed delivery means, for the outbox worker's rows it gave up on: a client who
blocked the bot stops getting news; a channel the bot may no longer post in is paused and the
post's author told; the sender of a relayed message that will never arrive is told to send it
again."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any

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
    staff,
)
from bot.services.outbox_claim import Delivery

OnDead = Callable[[AsyncSession, Delivery, str], Awaitable[None]]

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


def make_on_dead(runtime: Runtime) -> OnDead:
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
    if sender is None:
        return
    if await outbox_results.dead_count(session, delivery.message_id or 0, delivery.recipient) > 1:
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
        recipients = [
            m.id for m in await staff.list_staff(session) if m.role in channels.POSTING_ROLES
        ]
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
