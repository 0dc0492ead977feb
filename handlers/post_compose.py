"""Writing a post: /post opens the editor of a new draft; each language is written by sending
it to the bot (text, or a photo or document with a caption; formatting kept as HTML); then a
button, where it goes, and a preview exactly as it will look.

What the admin's next message means ("the RU text of post 12") is kept in the database
(`Staff.awaiting`, a typed value from bot/awaiting.py that lapses), so a restart in the
middle of writing loses nothing; handlers/dispatch.py decides when a message is that text.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
)

from bot import awaiting, publishing
from bot.awaiting import PostInput
from bot.callbacks import encode, parse, pattern_for
from bot.i18n import Translator
from bot.services import channels, notify, outbox, posts, staff
from bot.services.posts import PostError
from bot.services.ready_posts import upcoming
from bot.services.staff import StaffView
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, show
from handlers.posts_common import (
    LANGUAGE_NAMES,
    back_to_post,
    check_template,
    editor_screen,
    error_text,
    require_poster,
    when_prompt,
)
from handlers.staff_common import staff_translator


def _now() -> datetime:
    return posts.utcnow()


async def _show_editor(
    update: Update,
    context: PeerlineContext,
    member: StaffView,
    post_id: int,
    *,
    note: str = "",
    new: bool = False,
) -> None:
    screen = await editor_screen(context, member, post_id, note=note)
    if screen is None:
        _ = staff_translator(context, member)
        await show(update, context, error_text(_, "not_found"), new=new)
        return
    await show(update, context, *screen, new=new)


async def new_post(update: Update, context: PeerlineContext) -> None:
    """/post: a new draft, shown in the editor."""
    member = await require_poster(update, context)
    if member is None:
        return
    async with context.runtime.transaction() as session:
        post_id = await posts.create(session, author_id=member.id)
        await staff.set_awaiting(session, member.id, None)
    _ = staff_translator(context, member)
    note = _.gettext(
        "Write the post: press a language and send its text (or a photo or document with a "
        "caption). Or start from a ready-made post."
    )
    await _show_editor(update, context, member, post_id, note=note, new=True)


# --- buttons of the editor --------------------------------------------------------------


async def editor_action(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = parse(update.callback_query.data)
    post_id, action = int(callback.args[0]), callback.args[1]
    runtime = context.runtime
    try:
        if action == "show":
            async with runtime.transaction() as session:
                await staff.set_awaiting(session, member.id, None)
            await _show_editor(update, context, member, post_id)
        elif action == "button":
            await show(update, context, *_button_menu(_, post_id))
        elif action == "where":
            await _where(update, context, member, post_id)
        elif action == "subs":
            async with runtime.transaction() as session:
                post = await posts.get(session, post_id)
                if post is None:
                    raise PostError("not_found")
                await posts.set_subscribers(session, post_id, not post.to_subscribers)
            await _where(update, context, member, post_id)
        elif action == "preview":
            await _preview(update, context, member, post_id)
        elif action == "ready":
            await show(update, context, *_ready_menu(_, context, post_id))
        elif action == "event":
            async with runtime.transaction() as session:
                post = await posts.get(session, post_id)
                if post is None or post.status not in posts.EDITABLE:
                    raise PostError("not_found" if post is None else f"status_{post.status}")
                await staff.set_awaiting(session, member.id, awaiting.PostEvent(post_id))
            rows = [[back_to_post(_, post_id)]]
            if post.event_at is not None:
                rows[0].insert(
                    0,
                    Button(
                        "🚫 " + _.gettext("Not an invitation"),
                        callback_data=encode("pe", post_id, "noevent"),
                    ),
                )
            text = _.gettext(
                "Is this post an invitation to an event (a webinar, a campaign day, a self-help "
                'group)? Send the event\'s date and time: readers get a "Remind me" button and '
                "a reminder an hour before."
            )
            await show(
                update,
                context,
                text + "\n\n" + when_prompt(_, runtime.settings.timezone),
                Keyboard(rows),
            )
        elif action == "noevent":
            async with runtime.transaction() as session:
                await posts.set_event(session, post_id, None, now=_now())
                await staff.set_awaiting(session, member.id, None)
            await _show_editor(update, context, member, post_id)
        elif action == "cancel":
            async with runtime.transaction() as session:
                await posts.cancel(session, post_id, by=member.id)
            await _show_editor(
                update, context, member, post_id, note=_.gettext("The post is cancelled.")
            )
    except PostError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)


async def choose_language(update: Update, context: PeerlineContext) -> None:
    """✏️ RU: the admin's next message is that language's version (or, once published, its
    new text); "drop_ru" removes that version."""
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = parse(update.callback_query.data)
    post_id, choice = int(callback.args[0]), callback.args[1]
    async with context.runtime.transaction() as session:
        post = await posts.get(session, post_id)
        if post is not None and choice.startswith("drop_") and post.status in posts.EDITABLE:
            await posts.remove_version(session, post_id, choice.removeprefix("drop_"))
        elif post is not None and post.status in (*posts.EDITABLE, posts.PUBLISHED):
            kind = awaiting.PostEdit if post.status == posts.PUBLISHED else awaiting.PostText
            await staff.set_awaiting(session, member.id, kind(post_id, choice))
    if post is None or post.status not in (*posts.EDITABLE, posts.PUBLISHED):
        await answer_query(
            update,
            context,
            error_text(_, "not_found" if post is None else f"status_{post.status}"),
            alert=True,
        )
        return
    if choice.startswith("drop_"):
        await _show_editor(update, context, member, post_id)
        return
    name = LANGUAGE_NAMES[choice]
    if post.status == posts.PUBLISHED:
        text = _.gettext(
            "Send the new %(language)s text of post #%(id)s (for a photo or document: its new "
            "caption). It replaces the text in the channels.",
            language=name,
            id=post_id,
        )
    else:
        text = _.gettext(
            "Send the %(language)s version of post #%(id)s: a text, or a photo or document with "
            "a caption. Bold, italics and links are kept.",
            language=name,
            id=post_id,
        )
    rows = [[back_to_post(_, post_id)]]
    if choice in post.versions and post.status in posts.EDITABLE:
        rows[0].insert(
            0,
            Button(
                "🗑 " + _.gettext("Remove %(language)s", language=choice.upper()),
                callback_data=encode("pl", post_id, f"drop_{choice}"),
            ),
        )
    await show(update, context, text, Keyboard(rows))


def _button_menu(_: Translator, post_id: int) -> tuple[str, Keyboard]:
    rows = [
        [
            Button(
                "💬 " + _.gettext("Ask a consultant anonymously"),
                callback_data=encode("pb", post_id, "pick", "consult"),
            )
        ],
        [
            Button(
                "📂 " + _.gettext("Open a topic of the menu"),
                callback_data=encode("pb", post_id, "pick", "node"),
            )
        ],
        [Button("🔗 " + _.gettext("A link"), callback_data=encode("pb", post_id, "url"))],
        [Button("🚫 " + _.gettext("No button"), callback_data=encode("pb", post_id, "none"))],
        [back_to_post(_, post_id)],
    ]
    text = _.gettext(
        "Which button goes under the post? The bot's buttons open the bot at that place, in "
        "the reader's language."
    )
    return text, Keyboard(rows)


def _topic_menu(
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
                callback_data=encode("pb", post_id, kind, node.id),
            )
        ]
        for node in nodes
    ]
    rows.append([Button("↩️ " + _.gettext("Back"), callback_data=encode("pe", post_id, "button"))])
    return text, Keyboard(rows)


async def choose_button(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = parse(update.callback_query.data)
    post_id, kind, target = int(callback.args[0]), callback.args[1], callback.args[2]
    language = member.languages[0] if member.languages else "en"
    if kind == "pick" and target in ("consult", "node"):
        await show(update, context, *_topic_menu(_, context, post_id, target, language))
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
            await posts.set_button(session, post_id, kind, target=target)
    except PostError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)
        return
    await _show_editor(update, context, member, post_id)


async def _where(update: Update, context: PeerlineContext, member: StaffView, post_id: int) -> None:
    _ = staff_translator(context, member)
    async with context.runtime.transaction() as session:
        post = await posts.get(session, post_id)
        known = await channels.list_channels(session, active_only=True)
        readers = await posts.subscribers_by_language(session)
    if post is None:
        raise PostError("not_found")
    rows = []
    for channel in known:
        mark = "✅" if channel.id in post.channel_ids else "▫️"
        language = (channel.language or "?").upper()
        rows.append(
            [
                Button(
                    f"{mark} {channel.title} ({language})",
                    callback_data=encode("pc", post_id, channel.id),
                )
            ]
        )
    total = sum(readers.get(code, 0) for code in post.languages) if post.versions else 0
    mark = "✅" if post.to_subscribers else "▫️"
    rows.append(
        [
            Button(
                f"{mark} " + _.gettext("Subscribers of the bot (%(n)s)", n=total),
                callback_data=encode("pe", post_id, "subs"),
            )
        ]
    )
    rows.append([back_to_post(_, post_id)])
    text = _.gettext(
        "Where does post #%(id)s go? Each channel gets the version in its language; each "
        "subscriber the version in the language they read the bot in.",
        id=post_id,
    )
    if not known:
        text += "\n\n" + _.gettext("No channels are registered yet: see /channels.")
    await show(update, context, text, Keyboard(rows))


async def toggle_channel(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = parse(update.callback_query.data)
    post_id, channel_id = int(callback.args[0]), int(callback.args[1])
    try:
        async with context.runtime.transaction() as session:
            await posts.toggle_channel(session, post_id, channel_id)
        await _where(update, context, member, post_id)
    except PostError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)


async def _preview(
    update: Update, context: PeerlineContext, member: StaffView, post_id: int
) -> None:
    """Each language version sent to the admin exactly as readers will get it (same call,
    same parameters, same button)."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    async with runtime.transaction() as session:
        post = await posts.get(session, post_id)
        if post is None:
            raise PostError("not_found")
        if not post.versions:
            raise PostError("no_versions")
        chat_ref = await staff.chat_ref(session, member.id)
        for language, version in post.versions.items():
            method, params = posts.send_params(
                version, publishing.keyboard(runtime, post, language)
            )
            await outbox.enqueue(
                session,
                runtime.keys,
                chat_ref=chat_ref,
                recipient=f"staff:{member.id}",
                method=method,
                params=params,
            )
        await notify.send(
            session,
            runtime.keys,
            chat_ref=chat_ref,
            recipient=f"staff:{member.id}",
            text=_.gettext(
                "☝️ The preview of post #%(id)s (%(languages)s): readers get exactly this.",
                id=post_id,
                languages=", ".join(code.upper() for code in post.languages),
            ),
            buttons=[
                [
                    {
                        "text": "↩️ " + _.gettext("Back to the post"),
                        "callback_data": encode("pe", post_id, "show"),
                    }
                ]
            ],
        )
    await answer_query(update, context)


def _ready_menu(_: Translator, context: PeerlineContext, post_id: int) -> tuple[str, Keyboard]:
    ready = context.runtime.ready_posts
    language = _.language if _.language in LANGUAGE_NAMES else "en"
    soon = upcoming(ready, posts.utcnow().date())
    ordered = [*soon, *(p for p in ready if p not in soon)]
    rows = [
        [
            Button(
                ("📅 " if item in soon else "") + item.title.get(language, item.slug),
                callback_data=encode("rdy", post_id, item.slug),
            )
        ]
        for item in ordered
    ]
    rows.append([back_to_post(_, post_id)])
    text = _.gettext(
        "Ready-made posts, in all four languages, with sources. 📅 marks a date coming up. "
        "You can change the text afterwards."
    )
    return text, Keyboard(rows)


async def use_ready(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = parse(update.callback_query.data)
    post_id, slug = int(callback.args[0]), callback.args[1]
    ready = next((p for p in context.runtime.ready_posts if p.slug == slug), None)
    if ready is None:
        await answer_query(update, context, error_text(_, "not_found"), alert=True)
        return
    try:
        async with context.runtime.transaction() as session:
            for language, text in ready.text.items():
                await posts.set_version(session, post_id, language, kind="text", text=text)
            if ready.button == "consult":
                await posts.set_button(
                    session, post_id, "consult", target=context.runtime.content.root
                )
            elif ready.button != "none":
                await posts.set_button(session, post_id, "node", target=ready.button)
            await posts.mark_ready(session, post_id, slug)
    except PostError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)
        return
    note = (
        _.gettext("⚠️ This is a template: replace the parts in [brackets] in every language.")
        if ready.template
        else ""
    )
    await _show_editor(update, context, member, post_id, note=note)


# --- what the admin sends ---------------------------------------------------------------


async def admin_input(
    update: Update,
    context: PeerlineContext,
    member: StaffView,
    value: PostInput,
    message: Message,
) -> None:
    """What an admin sends for the post input they started (the dispatcher decided it is
    that, and the permissions table that they may)."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    post_id = value.post_id
    note = ""
    try:
        match value:
            case awaiting.PostText(language=language):
                kind, text, file_id = _version_of(message)
                async with runtime.transaction() as session:
                    await posts.set_version(
                        session, post_id, language, kind=kind, text=text, file_id=file_id
                    )
                    await staff.set_awaiting(session, member.id, None)
                note = _.gettext("✅ %(language)s saved.", language=language.upper())
            case awaiting.PostEdit(language=language):
                kind, text, _file = _version_of(message)
                async with runtime.transaction() as session:
                    post = await posts.get(session, post_id)
                    if post is None:
                        raise PostError("not_found")
                    changed = await posts.edit_published(
                        session,
                        runtime.keys,
                        post_id,
                        language,
                        text=text,
                        keyboard=publishing.keyboard(runtime, post, language),
                        by=member.id,
                    )
                    await staff.set_awaiting(session, member.id, None)
                note = _.ngettext(
                    "✅ %(language)s changed; %(n)s channel message is being edited.",
                    "✅ %(language)s changed; %(n)s channel messages are being edited.",
                    changed,
                    language=language.upper(),
                )
            case awaiting.PostUrl():
                label, _bar, url = (message.text or "").partition("|")
                async with runtime.transaction() as session:
                    await posts.set_button(
                        session, post_id, "url", target=url.strip(), label=label.strip()
                    )
                    await staff.set_awaiting(session, member.id, None)
            case awaiting.PostEvent():
                zone = ZoneInfo(runtime.settings.timezone)
                when = posts.parse_when(message.text or "", _now(), zone)
                if when is None:
                    await message.reply_text(when_prompt(_, runtime.settings.timezone))
                    return
                async with runtime.transaction() as session:
                    await posts.set_event(session, post_id, when, now=_now())
                    await staff.set_awaiting(session, member.id, None)
            case awaiting.PostWhen():
                zone = ZoneInfo(runtime.settings.timezone)
                when = posts.parse_when(message.text or "", _now(), zone)
                if when is None:
                    await message.reply_text(when_prompt(_, runtime.settings.timezone))
                    return
                async with runtime.transaction() as session:
                    await check_template(context, session, post_id)
                    await posts.schedule(session, post_id, when, now=_now(), by=member.id)
                    await staff.set_awaiting(session, member.id, None)
    except PostError as exc:
        if exc.code in ("not_found",) or exc.code.startswith("status_"):
            async with runtime.transaction() as session:
                await staff.set_awaiting(session, member.id, None)
        await message.reply_text(error_text(_, exc.code))
        return
    await _show_editor(update, context, member, post_id, note=note, new=True)


def _version_of(message: Message) -> tuple[str, str, str | None]:
    """(kind, HTML text, file id) of what the admin sent."""
    if message.photo:
        return "photo", message.caption_html or "", message.photo[-1].file_id
    if message.document:
        return "document", message.caption_html or "", message.document.file_id
    if message.text:
        return "text", message.text_html, None
    raise PostError("no_file")


def register(app: Application) -> None:
    app.add_handler(CommandHandler("post", new_post, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(editor_action, pattern=pattern_for("pe")))
    app.add_handler(CallbackQueryHandler(choose_language, pattern=pattern_for("pl")))
    app.add_handler(CallbackQueryHandler(choose_button, pattern=pattern_for("pb")))
    app.add_handler(CallbackQueryHandler(toggle_channel, pattern=pattern_for("pc")))
    app.add_handler(CallbackQueryHandler(use_ready, pattern=pattern_for("rdy")))
