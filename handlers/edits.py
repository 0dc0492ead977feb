"""An edit by either side of a conversation is relayed as an edit of the delivered copy."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.services import clients, queue, relay_edits, staff
from handlers import screens
from handlers.common import PeerlineContext, client_key, incoming_from, user_id_of

# Edits never reach the other flows (they listen to new messages only).
EDITED_PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE


async def edited(update: Update, context: PeerlineContext) -> None:
    """Find the recorded original (a consultant's or a client's) and queue the edits."""
    incoming = incoming_from(update)
    if incoming is None:
        return
    runtime = context.runtime
    queued = 0
    async with runtime.transaction() as session:
        member = await staff.find_by_telegram(session, runtime.keys, user_id_of(update))
        if member is not None:
            for conversation in await queue.active_for_staff(session, member.id):
                to_client = relay_edits.Target(
                    f"client:{conversation.client_id}",
                    await clients.chat_ref(session, conversation.client_id),
                )
                queued += await relay_edits.relay_edit(
                    session,
                    runtime.keys,
                    conversation_id=conversation.id,
                    author="staff",
                    incoming=incoming,
                    header=None,
                    resend_to=to_client,
                    protect_content=runtime.settings.protect_content,
                )
        else:
            client = await clients.get(session, client_key(update, context))
            opened = await queue.open_for_client(session, client.id) if client else None
            if opened is not None:
                conversation = opened
                holder = (
                    await staff.get(session, conversation.staff_id)
                    if conversation.staff_id
                    else None
                )
                _ = runtime.i18n.get(holder.languages[0] if holder and holder.languages else None)
                consultant = (
                    relay_edits.Target(
                        f"staff:{holder.id}", await staff.chat_ref(session, holder.id)
                    )
                    if holder is not None and conversation.status == queue.ACTIVE
                    else None
                )
                queued = await relay_edits.relay_edit(
                    session,
                    runtime.keys,
                    conversation_id=conversation.id,
                    author="client",
                    incoming=incoming,
                    header=screens.client_header(_, conversation.pseudonym) + " ✏️",
                    resend_to=consultant,
                    protect_content=runtime.settings.protect_content,
                )


def register(app: Application) -> None:
    app.add_handler(MessageHandler(EDITED_PRIVATE, edited))
