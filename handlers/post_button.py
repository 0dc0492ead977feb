"""The button under a post: "ask a consultant" on a topic, a topic of the menu, a link, or
none. The link's text and address are the admin's next message (handlers/post_input.py)."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot import awaiting
from bot.callbacks import PostButton, PostEditor, encode, pattern_for
from bot.i18n import Translator
from bot.services import post_drafts, staff
from bot.services.posts import PostError
from handlers.common import PeerlineContext, answer_query, callback_of, show
from handlers.post_card import show_editor
from handlers.posts_common import back_to_post, error_text, require_poster
from handlers.staff_common import staff_translator


def button_menu(_: Translator, post_id: int) -> tuple[str, Keyboard]:
    rows = [
        [
            Button(
                "💬 " + _.gettext("Ask a consultant anonymously"),
                callback_data=encode(PostButton(post_id=post_id, choice="pick", target="consult")),
            )
        ],
        [
            Button(
                "📂 " + _.gettext("Open a topic of the menu"),
                callback_data=encode(PostButton(post_id=post_id, choice="pick", target="node")),
            )
        ],
        [
            Button(
                "🔗 " + _.gettext("A link"),
                callback_data=encode(PostButton(post_id=post_id, choice="url")),
            )
        ],
        [
            Button(
                "🚫 " + _.gettext("No button"),
                callback_data=encode(PostButton(post_id=post_id, choice="none")),
            )
        ],
        [back_to_post(_, post_id)],
    ]
    text = _.gettext(
        "Which button goes under the post? The bot's buttons open the bot at that place, in "
        "the reader's language."
    )
    return text, Keyboard(rows)


def topic_menu(
    _: Translator, context: PeerlineContext, post_id: int, kind: str, language: str
) -> tuple[str, Keyboard]:
    content = context.runtime.content
    if kind == "consult":
        # Screens that offer "Ask a consultant anonymously" for their topic.
        nodes = [n for n in content.nodes.values() if n.consult]
        text = _.gettext("Which topic should the consultant be asked about?")
    else:
        nodes = [content.nodes[c] for c in content.nodes[content.root].children]
        text = _.gettext("Which topic of the menu should the button open?")
    rows = [
        [
            Button(
                content.button(node.id, language),
                callback_data=encode(PostButton(post_id=post_id, choice=kind, target=node.id)),
            )
        ]
        for node in nodes
    ]
    rows.append(
        [
            Button(
                "↩️ " + _.gettext("Back"),
                callback_data=encode(PostEditor(post_id=post_id, action="button")),
            )
        ]
    )
    return text, Keyboard(rows)


async def choose_button(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = callback_of(update, PostButton)
    post_id, kind, target = callback.post_id, callback.choice, callback.target
    language = member.languages[0] if member.languages else "en"
    if kind == "pick" and target in ("consult", "node"):
        await show(update, context, *topic_menu(_, context, post_id, target, language))
        return
    if kind == "url":
        async with context.runtime.transaction() as session:
            await staff.set_awaiting(session, member.id, awaiting.PostUrl(post_id))
        text = _.gettext(
            "Send the button as its text and link, separated by |, for example:\n"
            "Read more | https://example.org/naloxone"
        )
        back = [[back_to_post(_, post_id)]]
        await show(update, context, text, Keyboard(back))
        return
    if kind in ("consult", "node") and context.runtime.content.node(target or "") is None:
        await answer_query(update, context, error_text(_, "bad_button"), alert=True)
        return
    try:
        async with context.runtime.transaction() as session:
            await post_drafts.set_button(session, post_id, kind, target=target)
    except PostError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)
        return
    await show_editor(update, context, member, post_id)


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(choose_button, pattern=pattern_for(PostButton)))
