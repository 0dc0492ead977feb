"""Shared by every flow: the typed context, the current client, sending a screen."""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any, TypeVar

from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.error import BadRequest
from telegram.ext import CallbackContext, ExtBot, filters

from bot.callbacks import Callback, parse_as
from bot.dbtypes import clean_text
from bot.delivery import DeliveryWorker
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services import clients
from bot.services.clients import ClientState
from bot.services.relay import Incoming
from bot.services.visitors import Visitor

# In this order: a photo with a caption is a photo; "text" only when nothing else matches.
RELAYED_KINDS = (
    "photo",
    "video",
    "document",
    "audio",
    "voice",
    "animation",
    "video_note",
    "sticker",
    "text",
)

log = logging.getLogger(__name__)
C = TypeVar("C", bound=Callback)

# New messages in private chats. An edit arrives as an update of its own (handlers/edits.py);
# without this, handlers would take an edited message for a new one and act twice.
PRIVATE_MESSAGE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


class BotData:
    """Typed `bot_data`: the runtime and the outbox worker; nothing that acts as a database."""

    runtime: Runtime
    delivery: DeliveryWorker | None = None
    maintenance: asyncio.Task[None] | None = None  # follow-ups, long-wait alerts
    commands: asyncio.Task[None] | None = None  # publishing commands and descriptions


class PeerlineContext(CallbackContext[ExtBot, dict, dict, BotData]):
    """One per update (python-telegram-bot builds a context once and hands it to every
    handler), so what the front door learns about the sender is kept here for all of them."""

    def __init__(
        self, application: Any, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        # Who is writing (handlers/door.py); None until the door or a flow asks.
        self.visitor: Visitor | None = None
        # A button press is answered once (Telegram refuses a second answer).
        self.answered = False

    @property
    def runtime(self) -> Runtime:
        return self.bot_data.runtime


class UnexpectedUpdate(RuntimeError):
    """An update lacks a part its handler's filters guarantee (a message for a message handler,
    a query for a button): a routing bug, never a person's input, so it is raised loudly
    instead of being narrowed away with an `assert` that `python -O` would drop."""


# Typed accessors: python-telegram-bot types every part of an update as optional, while the
# filters a handler is registered with (and the front door) guarantee the parts it reads.


def message_of(update: Update) -> Message:
    """The update's message (for a button: the message it was on, if Telegram sent it)."""
    message = update.effective_message
    if message is None:
        raise UnexpectedUpdate(f"update {update.update_id} has no message")
    return message


def text_of(update: Update) -> str:
    """The text of a text message (handlers registered with filters.TEXT)."""
    text = message_of(update).text
    if text is None:
        raise UnexpectedUpdate(f"update {update.update_id} has no text")
    return text


def query_of(update: Update) -> CallbackQuery:
    """The button press (handlers registered as CallbackQueryHandler)."""
    query = update.callback_query
    if query is None:
        raise UnexpectedUpdate(f"update {update.update_id} is not a button press")
    return query


def callback_of(update: Update, kind: type[C]) -> C:
    """The pressed button's data as its kind (handlers registered with
    `pattern_for(kind)`, so anything else went to the stale-button handler)."""
    callback = parse_as(query_of(update).data, kind)
    if callback is None:
        raise UnexpectedUpdate(f"update {update.update_id} is not a {kind.__name__} button")
    return callback


def user_id_of(update: Update) -> int:
    """Who sent the update (every update the front door lets through has a sender)."""
    user = update.effective_user
    if user is None:
        raise UnexpectedUpdate(f"update {update.update_id} has no sender")
    return user.id


def chat_id_of(update: Update) -> int:
    """The chat the update came from."""
    chat = update.effective_chat
    if chat is None:
        raise UnexpectedUpdate(f"update {update.update_id} has no chat")
    return chat.id


def client_key(update: Update, context: PeerlineContext) -> str:
    return context.runtime.keys.client_key(user_id_of(update))


def in_private_chat(update: Update) -> bool:
    """Whether the update comes from the sender's own private chat with the bot."""
    chat, user = update.effective_chat, update.effective_user
    return chat is not None and user is not None and chat.type == Chat.PRIVATE


async def load_client(update: Update, context: PeerlineContext) -> ClientState:
    """The current client, created on first contact: the front door's answer when it has
    one (no second lookup), else its own short transaction."""
    visitor = context.visitor
    if visitor is not None and visitor.client is not None:
        return visitor.client
    keys = context.runtime.keys
    # A client's chat is their private chat, whose id is their user id: never the chat the
    # first contact came from, which may be a group (issue 12: a button in the staff forum
    # routed a later consultation there).
    chat_id = user_id_of(update)
    async with context.runtime.transaction() as session:
        state = await clients.get_or_create(
            session, client_key(update, context), lambda: keys.encrypt_chat_id(chat_id)
        )
    if visitor is not None:
        context.visitor = visitor.with_client(state)
    return state


async def set_client(update: Update, context: PeerlineContext, **changes: object) -> ClientState:
    """Store the client's choices; returns the new state (one transaction)."""
    async with context.runtime.transaction() as session:
        state = await clients.update_client(session, client_key(update, context), **changes)
    if state is None:  # deleted meanwhile (/forget in another chat window): start afresh
        if context.visitor is not None:
            context.visitor = context.visitor.with_client(None)
        return await load_client(update, context)
    if context.visitor is not None:
        context.visitor = context.visitor.with_client(state)
    return state


def incoming_from(update: Update, message: Message | None = None) -> Incoming | None:
    """The message (by default the update's own) as plain values for the relay, or None for
    kinds we do not relay."""
    message = message or update.effective_message
    if message is None:
        return None
    kind = next((k for k in RELAYED_KINDS if getattr(message, k, None)), None)
    if kind is None:
        return None
    text = message.text if kind == "text" else message.caption
    return Incoming(
        update_id=update.update_id,
        kind=kind,
        # Stored encrypted as UTF-8, which a lone surrogate (possible in JSON) is not.
        text=clean_text(text) if text is not None else None,
        source_message_id=message.message_id,
        chat_id=message.chat.id,
    )


def translator(context: PeerlineContext, client: ClientState | None) -> Translator:
    return context.runtime.i18n.get(client.language if client else None)


def escape(text: str) -> str:
    return html.escape(text, quote=False)


async def answer_query(
    update: Update, context: PeerlineContext, text: str | None = None, alert: bool = False
) -> bool:
    """Answer the button press, once: Telegram refuses a second answer (and the first one
    stops the spinner). Later calls do nothing; returns whether this one answered."""
    query = update.callback_query
    if query is None or context.answered:
        return False
    context.answered = True
    await query.answer(text, show_alert=alert)
    return True


def screen_of(update: Update) -> Message | None:
    """The message a button was on, if the bot can still see it: None for a press on a
    deleted or inaccessible message, or one without a message at all."""
    query = update.callback_query
    message = query.message if query is not None else None
    # python-telegram-bot parses an inaccessible message (date 0) as a Message too.
    if not isinstance(message, Message) or not message.is_accessible:
        return None
    return message


async def edit_screen(update: Update, context: PeerlineContext, text: str, **options: Any) -> None:
    """Replace the text of the screen a button was on; when the bot can no longer see that
    screen, the text goes to the person's private chat as a new message instead."""
    screen = screen_of(update)
    if screen is not None:
        await screen.edit_text(text, **options)
        return
    await context.bot.send_message(user_id_of(update), text, **options)


async def show(
    update: Update,
    context: PeerlineContext,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
    *,
    new: bool = False,
) -> None:
    """Edit the screen the button was on (less history on a seized phone), or send a new one."""
    await answer_query(update, context)
    no_preview = LinkPreviewOptions(is_disabled=True)
    screen = screen_of(update)
    if screen is not None and not new:
        try:
            await screen.edit_text(
                text, parse_mode="HTML", reply_markup=keyboard, link_preview_options=no_preview
            )
            return
        except BadRequest as exc:
            # Pressing the same button twice changes nothing; anything else (a message too
            # old to edit) falls through to a fresh message.
            if "not modified" in str(exc).lower():
                return
            log.info("could not edit a screen, sending a new one: %s", exc.message)
    # A press on a screen the bot cannot see carries no usable chat: the person's private
    # chat (their user id) is the one place a screen for them belongs.
    user = update.effective_user
    if update.callback_query is not None and screen is None and user is not None:
        chat_id = user.id
    else:
        chat_id = chat_id_of(update)
    await context.bot.send_message(
        chat_id,
        text,
        parse_mode="HTML",
        reply_markup=keyboard,
        link_preview_options=no_preview,
        protect_content=context.runtime.settings.protect_content,
    )
