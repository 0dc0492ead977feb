"""Channels: registering the organisation's channels, their language, and noticing removal.

A channel admin adds the bot to a channel as an administrator: Telegram then tells the bot
(handlers/channel_membership.py), which asks whoever added it for the channel's language.
`/channel_add @name` does the same for a channel the bot was added to earlier; it checks with
Telegram (`getChatMember`) that the bot may post there and that the person asking is an
administrator of that channel. /channels lists them; their language buttons set it (or pause
the channel).
"""

from __future__ import annotations

import html
import logging

from telegram import ChatMember, ChatMemberAdministrator, Update
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import ChannelLanguage, encode, pattern_for
from bot.i18n import Translator
from bot.ids import parse_id
from bot.services import channels
from bot.services.channels import ChannelView
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, callback_of, edit_screen
from handlers.posts_common import LANGUAGE_NAMES, require_poster
from handlers.staff_common import staff_translator

log = logging.getLogger(__name__)


def language_keyboard(channel_id: int) -> list[list[dict[str, str]]]:
    return [
        [
            {
                "text": name,
                "callback_data": encode(ChannelLanguage(channel_id=channel_id, choice=code)),
            }
            for code, name in LANGUAGE_NAMES.items()
        ]
    ]


def channel_line(_: Translator, channel: ChannelView) -> str:
    title = html.escape(channel.title)
    if not channel.active:
        return _.gettext(
            "⏸ %(title)s: paused (%(problem)s)",
            title=title,
            problem=problem_reason(_, channel.problem),
        )
    if channel.language is None:
        return _.gettext("❔ %(title)s: choose its language", title=title)
    return f"📢 {title} ({channel.language.upper()})"


async def list_channels(update: Update, context: PeerlineContext) -> None:
    """/channels: the registered channels, with their language and state."""
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    async with context.runtime.transaction() as session:
        known = await channels.list_channels(session)
    lines = [_.gettext("<b>Channels</b>")]
    rows = []
    for channel in known:
        lines.append(channel_line(_, channel))
        rows.append(
            [
                Button(
                    f"{code.upper()}{' ✓' if channel.language == code else ''}",
                    callback_data=encode(ChannelLanguage(channel_id=channel.id, choice=code)),
                )
                for code in LANGUAGE_NAMES
            ]
            + (
                [
                    Button(
                        "⏸",
                        callback_data=encode(ChannelLanguage(channel_id=channel.id, choice="off")),
                    )
                ]
                if channel.active
                else []
            )
        )
    if not known:
        lines.append(_.gettext("No channels yet."))
    lines.append(
        _.gettext(
            "To add a channel: make this bot an administrator of the channel with the right to "
            "post messages. I will then ask you for its language here. If the bot is already "
            "there, send /channel_add @channel_name (or the channel's id)."
        )
    )
    message = update.effective_message
    if message is None:  # a command always comes in a message
        return
    await message.reply_text(
        "\n".join(lines), parse_mode="HTML", reply_markup=Keyboard(rows) if rows else None
    )


async def add_channel(update: Update, context: PeerlineContext) -> None:
    """/channel_add @name: register a channel the bot is already an administrator of."""
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:  # a command always comes in a message, from someone
        return
    reference = (context.args or [""])[0].strip()
    if not reference:
        await message.reply_text(
            _.gettext("Usage: /channel_add @channel_name (or the channel's id, like -100123...)")
        )
        return
    chat_ref: int | str = reference
    numeric = parse_id(reference, negative=True)
    if numeric is not None:
        chat_ref = numeric
    elif not reference.startswith("@"):
        chat_ref = "@" + reference
    problem = await check_rights(context, chat_ref, user.id)
    if isinstance(problem, str):
        await message.reply_text(problem_text(_, problem))
        return
    chat_id, title = problem
    async with context.runtime.transaction() as session:
        channel = await channels.register(
            session, context.runtime.keys, chat_id=chat_id, title=title, by=member.id
        )
    await message.reply_text(
        registered_text(_, channel),
        parse_mode="HTML",
        reply_markup=Keyboard.de_json({"inline_keyboard": language_keyboard(channel.id)}, None),
    )


async def check_rights(
    context: PeerlineContext, chat: int | str, user_id: int
) -> tuple[int, str] | str:
    """(chat id, title) if the bot may post in this channel and the user administers it;
    else what is wrong: not_found | not_channel | bot_not_admin | bot_cannot_post |
    user_not_admin."""
    bot = context.bot
    try:
        found = await bot.get_chat(chat)
    except TelegramError:
        return "not_found"
    if found.type != ChatType.CHANNEL:
        return "not_channel"
    try:
        me = await bot.get_chat_member(found.id, bot.id)
    except TelegramError:
        return "bot_not_admin"
    if me.status != ChatMember.ADMINISTRATOR:
        return "bot_not_admin"
    if isinstance(me, ChatMemberAdministrator) and me.can_post_messages is False:
        return "bot_cannot_post"
    try:
        them = await bot.get_chat_member(found.id, user_id)
    except TelegramError:
        return "user_not_admin"
    if them.status not in (ChatMember.ADMINISTRATOR, ChatMember.OWNER):
        return "user_not_admin"
    return found.id, found.title or "?"


def problem_reason(_: Translator, problem: str | None) -> str:
    """Why a channel is paused, in the admin's language."""
    reasons = {
        channels.REMOVED: _.gettext("the bot was removed from the channel"),
        channels.NO_RIGHTS: _.gettext("the bot may not post there"),
        channels.PAUSED: _.gettext("by an admin"),
    }
    return reasons.get(problem or "", html.escape(problem or "?"))


def problem_text(_: Translator, problem: str) -> str:
    texts = {
        "not_found": _.gettext(
            "I cannot find that channel. Check the name, and add the bot to the channel as an "
            "administrator first."
        ),
        "not_channel": _.gettext("That is not a channel. Posts go to channels only."),
        "bot_not_admin": _.gettext(
            "The bot is not an administrator of that channel. Add it as an administrator with "
            "the right to post messages, then try again."
        ),
        "bot_cannot_post": _.gettext(
            'The bot is an administrator there but may not post messages. Turn on "Post '
            "messages\" for it in the channel's administrator settings, then try again."
        ),
        "user_not_admin": _.gettext(
            "Only an administrator of that channel can register it, and Telegram says you are "
            "not one."
        ),
    }
    return texts[problem]


def registered_text(_: Translator, channel: ChannelView) -> str:
    return _.gettext(
        "Channel <b>%(title)s</b> is registered. In which language does it publish? Posts go "
        "to each channel in its language.",
        title=html.escape(channel.title),
    )


async def choose_language(update: Update, context: PeerlineContext) -> None:
    """A channel language button (or ⏸ to pause the channel)."""
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = callback_of(update, ChannelLanguage)
    channel_id, choice = callback.channel_id, callback.choice
    async with context.runtime.transaction() as session:
        if await channels.get(session, channel_id) is None:
            channel = None
        elif choice == "off":
            channel = await channels.deactivate(session, channel_id, channels.PAUSED, by=member.id)
        else:
            channel = await channels.set_language(session, channel_id, choice, by=member.id)
    if channel is None:
        await answer_query(update, context, _.gettext("That channel is not registered."))
        return
    await answer_query(update, context)
    if choice == "off":
        text = _.gettext(
            "%(title)s is paused: no posts go there. To resume, register it again with "
            "/channel_add.",
            title=html.escape(channel.title),
        )
    else:
        text = _.gettext(
            "%(title)s publishes in %(language)s. /post writes a post; /channels lists the "
            "channels.",
            title=html.escape(channel.title),
            language=LANGUAGE_NAMES[choice],
        )
    await edit_screen(update, context, text, parse_mode="HTML")


def register(app: Application) -> None:
    app.add_handler(CommandHandler("channels", list_channels, filters=PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("channel_add", add_channel, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(choose_language, pattern=pattern_for(ChannelLanguage)))
