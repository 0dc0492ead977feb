"""A throwaway python-telegram-bot 22 bot that proves the e2e harness (not Peerline itself).

Run as a script by test_emulator_smoke.py through the same `start_bot()` helper and the same
PEERLINE_* environment as the real bot, in polling mode or (PEERLINE_WEBHOOK_URL set) webhook
mode. It exercises the Bot API methods Peerline uses: sendMessage with an inline keyboard,
parse_mode=HTML, protect_content and link_preview_options; editMessageText and
editMessageReplyMarkup on button presses; answerCallbackQuery; copyMessage; sendChatAction;
setMyCommands/getMyCommands; setMyDescription/setMyShortDescription; getChatMember;
deleteMessage/deleteMessages.
"""

from __future__ import annotations

import html
import logging
import os
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

log = logging.getLogger("smoke_bot")

COMMANDS = [BotCommand("start", "Open the menu"), BotCommand("help", "List the commands")]
DESCRIPTION = "Smoke-test bot for the Peerline e2e harness"
SHORT_DESCRIPTION = "Harness smoke bot"


def menu_text(first_name: str) -> str:
    # User-controlled text goes through html.escape, as it must with parse_mode=HTML.
    return f"Welcome, <b>{html.escape(first_name)}</b>! Pick a screen."


def menu_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("\N{INFORMATION SOURCE} About", callback_data="about"),
                InlineKeyboardButton("Settings", callback_data="settings"),
            ],
            [InlineKeyboardButton("Docs", url="https://example.org/docs")],
        ]
    )


def back_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("\N{LEFTWARDS BLACK ARROW} Back", callback_data="back")]]
    )


def settings_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Language: en", callback_data="lang")],
            [InlineKeyboardButton("Hide keyboard", callback_data="hide")],
            [InlineKeyboardButton("\N{LEFTWARDS BLACK ARROW} Back", callback_data="back")],
        ]
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat and update.effective_user
    await context.bot.send_message(
        update.effective_chat.id,
        menu_text(update.effective_user.first_name),
        parse_mode=ParseMode.HTML,
        reply_markup=menu_markup(),
        protect_content=True,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query and query.message and update.effective_user
    if query.data == "about":
        await query.answer("About")
        await query.edit_message_text(
            "About: <i>smoke bot</i> v1", parse_mode=ParseMode.HTML, reply_markup=back_markup()
        )
    elif query.data == "settings":
        await query.answer()
        # Same text, new keyboard: editMessageReplyMarkup.
        await query.edit_message_reply_markup(reply_markup=settings_markup())
    elif query.data == "hide":
        await query.answer("Hidden")
        await query.edit_message_reply_markup(reply_markup=None)
    elif query.data == "back":
        await query.answer()
        await query.edit_message_text(
            menu_text(update.effective_user.first_name),
            parse_mode=ParseMode.HTML,
            reply_markup=menu_markup(),
        )
    else:
        await query.answer(f"Unknown button {query.data}", show_alert=True)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat
    commands = await context.bot.get_my_commands()
    lines = [f"/{c.command} \N{EM DASH} {c.description}" for c in commands]
    await context.bot.send_message(update.effective_chat.id, "Commands:\n" + "\n".join(lines))


async def whoami(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat and update.effective_user
    user = update.effective_user
    member = await context.bot.get_chat_member(update.effective_chat.id, user.id)
    await context.bot.send_message(
        update.effective_chat.id,
        f"You are {member.status}; id {user.id}; @{user.username}; "
        f"{user.full_name}; lang {user.language_code}",
    )


async def clean(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat and update.effective_message
    chat_id = update.effective_chat.id
    temp = await context.bot.send_message(chat_id, "temporary")
    await context.bot.delete_message(chat_id, temp.message_id)
    await context.bot.delete_messages(chat_id, [update.effective_message.message_id])
    await context.bot.send_message(chat_id, f"Cleaned {temp.message_id}")


async def echo_copy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat and update.effective_message
    chat_id = update.effective_chat.id
    await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    copied = await context.bot.copy_message(chat_id, chat_id, update.effective_message.message_id)
    await context.bot.send_message(chat_id, f"Copied as #{copied.message_id}")


async def on_sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message and update.effective_message.sticker
    await update.effective_message.reply_text(f"Sticker {update.effective_message.sticker.emoji}")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Shows up in the bot log the harness prints on failures.
    log.error("handler failed for %r", update, exc_info=context.error)


async def post_init(app: Application) -> None:  # type: ignore[type-arg]
    await app.bot.set_my_commands(COMMANDS)
    await app.bot.set_my_description(DESCRIPTION)
    await app.bot.set_my_short_description(SHORT_DESCRIPTION)


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    token = os.environ["PEERLINE_BOT_TOKEN"]
    api = os.environ["PEERLINE_TELEGRAM_API_URL"].rstrip("/")
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .post_init(post_init)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler("whoami", whoami))
    app.add_handler(CommandHandler("clean", clean))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.Sticker.ALL, on_sticker))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo_copy))
    app.add_error_handler(on_error)

    webhook_url = os.environ.get("PEERLINE_WEBHOOK_URL")
    if webhook_url:
        app.run_webhook(
            listen=os.environ.get("PEERLINE_WEBHOOK_LISTEN", "127.0.0.1"),
            port=int(os.environ["PEERLINE_WEBHOOK_PORT"]),
            url_path=urlsplit(webhook_url).path,
            secret_token=os.environ.get("PEERLINE_WEBHOOK_SECRET"),
            webhook_url=webhook_url,
        )
    else:
        app.run_polling()
    log.info("stopped cleanly")


if __name__ == "__main__":
    main()
