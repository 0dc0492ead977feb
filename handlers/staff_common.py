"""Shared by the consultant flows: who the staff member is, their language, and which
conversation a message or command of theirs is about (`find_target`, `ask_which`, `picked`);
also the message of the update (`message_of`, from handlers/common.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update

from bot.callbacks import Callback, PickConversation, encode
from bot.i18n import Translator
from bot.services import clients, notify, outbox_sent, queue, recent, staff
from bot.services.queue import ConversationView
from bot.services.staff import StaffView
from handlers import screens
from handlers.common import PeerlineContext, answer_query, callback_of, message_of, query_of


async def edit_pressed(update: Update, context: PeerlineContext, text: str) -> None:
    """Answer the button and put `text` (HTML) in place of the message it was on."""
    query = query_of(update)
    await answer_query(update, context)
    await query.edit_message_text(text, parse_mode="HTML")


async def tell_client(
    context: PeerlineContext, session: AsyncSession, conversation: ConversationView, text: str
) -> None:
    """Queue a notice (HTML) for the conversation's client, in the same transaction."""
    runtime = context.runtime
    await notify.send(
        session,
        runtime.keys,
        chat_ref=await clients.chat_ref(session, conversation.client_id),
        recipient=f"client:{conversation.client_id}",
        text=text,
        protect_content=runtime.settings.protect_content,
    )


async def current_staff(update: Update, context: PeerlineContext) -> StaffView | None:
    """The sender as active staff, or None: the front door's answer for this update when it
    has one (handlers/door.py), else a lookup of its own."""
    if context.visitor is not None:
        return context.visitor.staff
    user = update.effective_user
    if user is None:  # a channel post or a poll update: nobody to look up
        return None
    runtime = context.runtime
    async with runtime.transaction() as session:
        return await staff.find_by_telegram(session, runtime.keys, user.id)


sender_staff = current_staff


def staff_translator(context: PeerlineContext, member: StaffView) -> Translator:
    """The member's language (bot/services/notify.py decides it, for notices and screens)."""
    return notify.staff_translator(context.runtime, member)


def telegram_language(update: Update, context: PeerlineContext) -> Translator:
    """For someone who is not (yet) staff: their Telegram app's language, never stored."""
    user = update.effective_user
    return context.runtime.i18n.get(
        context.runtime.i18n.suggest(user.language_code if user else None)
    )


async def require_staff(update: Update, context: PeerlineContext) -> StaffView | None:
    """The sender as staff, or a polite refusal."""
    member = await current_staff(update, context)
    if member is None:
        _ = telegram_language(update, context)
        if update.callback_query:
            await answer_query(update, context, _.gettext("This is for consultants only."))
        elif update.effective_message is not None:
            await update.effective_message.reply_text(_.gettext("This is for consultants only."))
    return member


async def require_staff_translated(
    update: Update, context: PeerlineContext
) -> tuple[StaffView, Translator] | None:
    """The sender as staff with their translator, or None after a polite refusal."""
    member = await require_staff(update, context)
    return (member, staff_translator(context, member)) if member is not None else None


def command_text(update: Update) -> str:
    """Everything after the command, line breaks kept (a canned body may have several)."""
    parts = (message_of(update).text or "").split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


@dataclass(frozen=True)
class Target:
    """Where a consultant's message or command goes, if that is certain.

    `conversation` is the one of the client's message they replied to, else their only open
    one, else None: several are open, or the reply leads to a closed one (`closed_reply`).
    There is no remembered "current" conversation: a silent switch sent an answer meant for
    one client to another (issue 10)."""

    conversation: ConversationView | None
    active: list[ConversationView]
    by_reply: bool = False
    closed_reply: bool = False
    # The reply is to a message that shows several clients' words (texts sent together while
    # the chat was paced, bot/delivery_combine.py): `active` is those of them still open.
    several: bool = False


async def find_target(session: AsyncSession, member: StaffView, reply_to: Message | None) -> Target:
    active = await queue.active_for_staff(session, member.id)
    if reply_to is not None:
        shown = await outbox_sent.sent_conversations(
            session, f"staff:{member.id}", reply_to.message_id
        )
        if len(shown) > 1:
            held = [c for c in active if c.id in shown]
            return Target(None, held or active, closed_reply=not held, several=True)
        if shown:
            conversation_id = shown[0]
            replied = next((c for c in active if c.id == conversation_id), None)
            return Target(replied, active, by_reply=True, closed_reply=replied is None)
    return Target(active[0] if len(active) == 1 else None, active)


async def choices(
    context: PeerlineContext,
    _: Translator,
    active: list[ConversationView],
    kind: Callable[[int], Callback],
) -> Keyboard:
    """One button per open conversation: name, topic and the client's last line, so the
    consultant can tell them apart (`kind(conversation_id)` as its data: a kind whose one
    field left is the conversation, e.g. `CaseStart` or `partial(MessageFor, "c")`)."""
    async with context.runtime.transaction() as session:
        lines = await recent.last_client_lines(
            session, context.runtime.keys, [c.id for c in active]
        )
    return Keyboard(
        [
            [
                Button(
                    "→ " + screens.conversation_choice(_, c, lines.get(c.id)),
                    callback_data=encode(kind(c.id)),
                )
            ]
            for c in active
        ]
    )


def by_quote(_: Translator, target: Target, message: Message) -> Target:
    """A reply that quotes part of a message showing several clients' texts (Telegram's
    "reply with quote") is for the client whose section the quote lies in, when that names
    exactly one of them; otherwise the target stays undecided and the bot asks."""
    replied, quote = message.reply_to_message, message.quote
    if not target.several or replied is None or quote is None or not replied.text:
        return target
    if "👤" in quote.text:  # reaches over a header: more than one section
        return target
    before = replied.text.encode("utf-16-le")[: quote.position * 2].decode("utf-16-le", "ignore")
    *above, own = before.split("\n")
    if own.startswith("👤"):  # the quote begins inside a header line
        return target
    writer = None
    for line in above:  # whole lines above the quote's own
        if line.startswith("👤"):
            writer = line.removeprefix("👤").strip()
    named = [c for c in target.active if screens.client_name(_, c.pseudonym) == writer]
    if writer is None or len(named) != 1:
        return target
    return Target(named[0], target.active, by_reply=True)


def several_text(_: Translator) -> str:
    return _.gettext("The message you replied to shows the words of several clients.")


async def ask_which(
    update: Update,
    context: PeerlineContext,
    _: Translator,
    target: Target,
    action: str,
) -> None:
    """A command that could be about several conversations: ask which, with buttons, under a
    reply to the command itself (its text, e.g. a note, is read from there when one is
    pressed); never a guess."""
    message = message_of(update)
    if not target.active:
        await message.reply_text(_.gettext("You have no open conversation."))
        return
    text = _.gettext("Which conversation? Choose one, or reply to a client's message.")
    if target.several:
        text = several_text(_) + "\n" + text
    elif target.closed_reply:
        text = _.gettext("The conversation of the message you replied to is closed.") + "\n" + text
    keyboard = await choices(context, _, target.active, partial(PickConversation, action))
    await message.reply_text(text, reply_markup=keyboard, reply_to_message_id=message.message_id)


async def command_conversation(
    update: Update, context: PeerlineContext, member: StaffView, _: Translator, action: str
) -> ConversationView | None:
    """The conversation a consultant's command is about (the one of the client's message
    they replied to, else their only one); otherwise ask which (`picked` reads the answer)."""
    async with context.runtime.transaction() as session:
        target = await find_target(session, member, message_of(update).reply_to_message)
    if target.conversation is None:
        await ask_which(update, context, _, target, action)
    return target.conversation


@dataclass(frozen=True)
class Picked:
    """A conversation a consultant chose for a command (`ask_which`), and who chose it."""

    member: StaffView
    translator: Translator
    conversation: ConversationView
    original: Message  # the command the question was about


async def pick(update: Update, context: PeerlineContext) -> Picked | None:
    """The answer to "which conversation?" for any command: the staff member, their
    language, the conversation (still open and theirs) and the command; None when refused
    (and said why)."""
    member = await require_staff(update, context)
    if member is None or update.callback_query is None:
        return None
    _ = staff_translator(context, member)
    chosen = await picked(update, context, member, _)
    return Picked(member, _, *chosen) if chosen is not None else None


async def picked(
    update: Update, context: PeerlineContext, member: StaffView, _: Translator
) -> tuple[ConversationView, Message] | None:
    """The answer to `ask_which`: the chosen conversation, if still open and theirs, and the
    command it was asked for (the message the question replied to)."""
    query = query_of(update)
    chosen = callback_of(update, PickConversation).conversation_id
    question = query.message if isinstance(query.message, Message) else None
    original = question.reply_to_message if question is not None else None
    async with context.runtime.transaction() as session:
        active = await queue.active_for_staff(session, member.id)
    conversation = next((c for c in active if c.id == chosen), None)
    if conversation is None:
        await answer_query(
            update, context, _.gettext("That conversation is no longer yours."), alert=True
        )
        return None
    if original is None:
        await answer_query(update, context, _.gettext("Please send it again."), alert=True)
        return None
    return conversation, original
