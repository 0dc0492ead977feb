"""The preview of a post: each language version sent to the admin exactly as readers get it
(the same Bot API call, parameters and buttons as the broadcast)."""

from __future__ import annotations

from telegram import Update

from bot.callbacks import PostEditor, encode
from bot.post_buttons import keyboard
from bot.services import notify, outbox, post_publish, posts, staff
from bot.services.posts import PostError
from bot.services.staff import StaffView
from handlers.common import PeerlineContext, answer_query
from handlers.staff_common import staff_translator


async def preview(
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
            method, params = post_publish.send_params(version, keyboard(runtime, post, language))
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
                        "callback_data": encode(PostEditor(post_id=post_id, action="show")),
                    }
                ]
            ],
        )
    await answer_query(update, context)
