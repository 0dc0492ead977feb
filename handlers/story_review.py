"""Channel admins review clients' stories: /stories lists those waiting; approving makes a draft
post of one (edited and published like any post), rejecting tells the author why, in their
language. Either way the story row forgets its text and its author."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import encode, parse, pattern_for
from bot.i18n import N_, Translator
from bot.services import clients, relay, stories
from bot.services.staff import StaffView
from bot.services.stories import StoryError
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, escape, show
from handlers.post_card import editor_screen
from handlers.posts_common import require_poster
from handlers.staff_common import staff_translator

REASONS = {
    "identifying": N_("It could identify the author or someone else."),
    "risk": N_("It could put someone at risk."),
    "off_topic": N_("It is not a story about lived experience."),
    "duplicate": N_("We have just published a very similar story."),
    # Russian law (3-FZ Art. 46, "propaganda" of drugs): no how or where to use or get them.
    "russia": N_("It cannot be published in Russia: it tells how or where to use or get drugs."),
    "other": N_("The channel admins decided not to publish it."),
}
SNIPPET = 40


async def list_stories(update: Update, context: PeerlineContext) -> None:
    """/stories: stories waiting for a decision, oldest first."""
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    runtime = context.runtime
    async with runtime.transaction() as session:
        waiting = await stories.pending(session, runtime.keys)
    if not waiting:
        await show(update, context, _.gettext("No stories are waiting for review."))
        return
    rows = []
    for story in waiting:
        first = " ".join((story.text or "").split())[:SNIPPET]
        rows.append(
            [
                Button(
                    f"#{story.id} {story.language.upper()} · {first}…",
                    callback_data=encode("stv", story.id, "show"),
                )
            ]
        )
    text = _.ngettext(
        "%(n)s story is waiting for review:", "%(n)s stories are waiting for review:", len(waiting)
    )
    await show(update, context, text, Keyboard(rows))


async def review(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = parse(update.callback_query.data)
    story_id, action = int(callback.args[0]), callback.args[1]
    runtime = context.runtime
    if action == "show":
        async with runtime.transaction() as session:
            story = await stories.get(session, runtime.keys, story_id)
        if story is None or story.status != stories.PENDING:
            await _decided(update, context, _)
            return
        await show(update, context, *_story_screen(_, story.id, story.language, story.text or ""))
    elif action == "approve":
        await _approve(update, context, member, story_id)
    elif action == "reject":
        rows = [
            [Button(_.gettext(label), callback_data=encode("stv", story_id, reason))]
            for reason, label in REASONS.items()
        ]
        rows.append(
            [Button("↩️ " + _.gettext("Back"), callback_data=encode("stv", story_id, "show"))]
        )
        await show(
            update,
            context,
            _.gettext("Why is it not published? The author is told this, in their language."),
            Keyboard(rows),
        )
    else:
        await _reject(update, context, member, story_id, action)


def _story_screen(_: Translator, story_id: int, language: str, text: str) -> tuple[str, Keyboard]:
    body = "\n\n".join(
        [
            _.gettext(
                "<b>Story #%(id)s</b> (%(language)s)", id=story_id, language=language.upper()
            ),
            f"<blockquote>{escape(text)}</blockquote>",
            _.gettext(
                "Approving makes a draft post of it: you can edit it, add other languages and "
                "choose where it goes. Rejecting tells the author why."
            ),
        ]
    )
    rows = [
        [
            Button("✅ " + _.gettext("Approve"), callback_data=encode("stv", story_id, "approve")),
            Button("❌ " + _.gettext("Reject"), callback_data=encode("stv", story_id, "reject")),
        ]
    ]
    return body, Keyboard(rows)


async def _decided(update: Update, context: PeerlineContext, _: Translator) -> None:
    await show(update, context, _.gettext("This story has already been reviewed."))


async def _approve(
    update: Update, context: PeerlineContext, member: StaffView, story_id: int
) -> None:
    runtime = context.runtime
    _ = staff_translator(context, member)
    try:
        async with runtime.transaction() as session:
            approved = await stories.approve(session, runtime.keys, story_id, by=member.id)
            if approved is not None:
                client_id = approved[1]
                await _tell_author(
                    context,
                    session,
                    client_id,
                    N_(
                        "Your story was accepted. It will be published without anything about "
                        "you. Thank you for sharing it."
                    ),
                )
    except StoryError:
        approved = None
    if approved is None:
        await _decided(update, context, _)
        return
    note = _.gettext("A draft post was made from story #%(id)s.", id=story_id)
    screen = await editor_screen(context, member, approved[0], note=note)
    if screen is not None:
        await show(update, context, *screen)


async def _reject(
    update: Update, context: PeerlineContext, member: StaffView, story_id: int, reason: str
) -> None:
    runtime = context.runtime
    _ = staff_translator(context, member)
    async with runtime.transaction() as session:
        rejected = await stories.reject(session, runtime.keys, story_id, reason, by=member.id)
        if rejected is not None:
            await _tell_author(context, session, rejected[1], None, reason=reason)
    if rejected is None:
        await _decided(update, context, _)
        return
    await show(
        update,
        context,
        _.gettext("Story #%(id)s is not published; the author was told why.", id=story_id),
    )


async def _tell_author(  # type: ignore[no-untyped-def]
    context: PeerlineContext, session, client_id: int | None, message: str | None, *, reason=None
) -> None:
    """A notice to the story's author in the language they read the bot in (none if they
    deleted their data meanwhile)."""
    if client_id is None:
        return
    runtime = context.runtime
    language = await clients.language_of(session, client_id)
    _ = runtime.i18n.get(language)
    if reason is not None:
        text = _.gettext(
            "Your story was not published. The reason: %(reason)s You are welcome to write "
            "another one: /story",
            reason=_.gettext(REASONS[reason]),
        )
    else:
        text = _.gettext(message or "")
    await relay.notice(
        session,
        runtime.keys,
        chat_ref=await clients.chat_ref(session, client_id),
        recipient=f"client:{client_id}",
        text=text,
        protect_content=runtime.settings.protect_content,
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("stories", list_stories, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(review, pattern=pattern_for("stv")))
