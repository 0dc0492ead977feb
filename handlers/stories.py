"""A client shares an experience story: warned first not to identify anyone, writes it, reads
it back (with a warning if it seems to hold a phone number, a username or a link), and sends it
for review by the channel admins. The client is told their decision later.

What the next message means ("the story") is `Client.awaiting` (bot/awaiting.StoryText), in the
database; handlers/dispatch.py decides when a message is the story.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
)

from bot import awaiting, story_decisions
from bot.callbacks import OpenMenu, OpenScreen, StoryAction, encode, pattern_for
from bot.i18n import Translator
from bot.services import queue, stories
from bot.services.clients import ClientState
from bot.services.stories import StoryError
from handlers import screens
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    answer_query,
    callback_of,
    escape,
    load_client,
    set_client,
    show,
    translator,
)
from handlers.navigation import next_step

NODE = "story"  # its menu entry (content/menu.yaml, an action node)


async def intro(update: Update, context: PeerlineContext) -> None:
    """/story or the menu entry: what a story is for, and what never to put in it."""
    client = await load_client(update, context)
    if not client.onboarded:
        await next_step(update, context, client)
        return
    _ = translator(context, client)
    screen = context.runtime.content.screen(NODE, client.language or "en", client.country)
    rows = [
        [
            Button(
                "✍️ " + _.gettext("Write my story"),
                callback_data=encode(StoryAction(action="write")),
            )
        ],
        [Button("‹ " + _.gettext("Main menu"), callback_data=encode(OpenMenu(node="main")))],
    ]
    await show(update, context, screen.text, Keyboard(rows))


async def story_action(update: Update, context: PeerlineContext) -> None:
    callback = callback_of(update, StoryAction)
    action, story_id = callback.action, callback.story_id
    client = await load_client(update, context)
    _ = translator(context, client)
    runtime = context.runtime
    if action == "write":
        async with runtime.transaction() as session:
            busy = await queue.open_for_client(session, client.id)
        if busy is not None:
            await answer_query(
                update,
                context,
                _.gettext("You are talking with a consultant: write your story afterwards."),
                alert=True,
            )
            return
        await set_client(update, context, awaiting=awaiting.StoryText())
        text = _.gettext(
            "Send your story as one text message (up to %(max)s characters). No names, places, "
            "dates or anything else that could identify you or anyone else.",
            max=stories.TEXT_MAX,
        )
        cancel = [[Button(_.gettext("Cancel"), callback_data=encode(StoryAction(action="cancel")))]]
        await show(update, context, text, Keyboard(cancel))
        return
    if action == "cancel":
        async with runtime.transaction() as session:
            if story_id is not None:
                await stories.discard(session, story_id, client_id=client.id)
        await set_client(update, context, awaiting=None)
        await show(
            update, context, _.gettext("Your story was not sent."), screens.main_menu_button(_)
        )
        return
    # send
    sent = story_id is not None and await story_decisions.submit(
        runtime, story_id, client_id=client.id, language=client.language or "en"
    )
    if not sent:
        await answer_query(update, context, _.gettext("This story was already sent."))
        return
    await show(
        update,
        context,
        _.gettext(
            "Thank you. A channel admin will read your story; we will tell you what they "
            "decide. Nothing about you is published."
        ),
        screens.main_menu_button(_),
    )


async def story_text(update: Update, context: PeerlineContext, client: ClientState) -> None:
    """The client's story, when they are writing one (the dispatcher decided the message is
    that: no conversation of theirs is open)."""
    runtime = context.runtime
    _ = translator(context, client)
    message = update.effective_message
    assert message is not None
    if not message.text:
        await message.reply_text(_.gettext("Please send your story as text."))
        return
    try:
        async with runtime.transaction() as session:
            story = await stories.write(
                session,
                runtime.keys,
                client_id=client.id,
                language=client.language or "en",
                text=message.text,
            )
    except StoryError as exc:
        await message.reply_text(_too_short_or_long(_, exc.code))
        return
    await set_client(update, context, awaiting=None)
    await show(update, context, *_confirm(_, story.id, message.text), new=True)


def _too_short_or_long(_: Translator, code: str) -> str:
    if code == "too_short":
        return _.gettext("This is very short for a story. Tell a little more, and send it again.")
    return _.gettext(
        "This is longer than %(max)s characters. Shorten it, and send it again.",
        max=stories.TEXT_MAX,
    )


def _confirm(_: Translator, story_id: int, text: str) -> tuple[str, Keyboard]:
    lines = [_.gettext("Your story is ready. Send it to the channel admins for review?")]
    found = stories.identifying(text)
    if found:
        kinds = {
            "phone": _.gettext("a phone number"),
            "username": _.gettext("a Telegram username"),
            "email": _.gettext("an e-mail address"),
            "link": _.gettext("a link"),
        }
        lines.append(
            "⚠️ "
            + _.gettext(
                "It seems to contain %(what)s. That could identify you or someone else: "
                "better write it again without it.",
                what=", ".join(kinds[k] for k in found),
            )
        )
    lines.append(f"<blockquote>{escape(text[:300])}{'…' if len(text) > 300 else ''}</blockquote>")
    rows = [
        [
            Button(
                "📨 " + _.gettext("Send for review"),
                callback_data=encode(StoryAction(action="send", story_id=story_id)),
            )
        ],
        [
            Button(
                "✏️ " + _.gettext("Write it again"),
                callback_data=encode(StoryAction(action="write")),
            )
        ],
        [
            Button(
                _.gettext("Cancel"),
                callback_data=encode(StoryAction(action="cancel", story_id=story_id)),
            )
        ],
    ]
    return "\n\n".join(lines), Keyboard(rows)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("story", intro, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(intro, pattern=pattern_for(OpenScreen, NODE)))
    app.add_handler(CallbackQueryHandler(story_action, pattern=pattern_for(StoryAction)))
