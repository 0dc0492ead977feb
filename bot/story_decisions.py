"""Use cases of the stories flow, each one transaction with all its side effects: a client
sends their story for review (the channel admins are told), an admin approves it (a draft
post is made of it; the author is told) or rejects it with a reason (the author is told why,
in their language). The handlers only parse the press, call one of these and render.

A decision erases the story's text and author in the same transaction that queues the
author's notice (bot/services/stories.py): afterwards nothing says who wrote which post.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StoryReview, encode
from bot.i18n import N_
from bot.runtime import Runtime
from bot.services import clients, notify, stories
from bot.services.stories import StoryError

# Why a story is not published: the author is told the reason, in their language.
REASONS = {
    "identifying": N_("It could identify the author or someone else."),
    "risk": N_("It could put someone at risk."),
    "off_topic": N_("It is not a story about lived experience."),
    "duplicate": N_("We have just published a very similar story."),
    # Russian law (3-FZ Art. 46, "propaganda" of drugs): no how or where to use or get them.
    "russia": N_("It cannot be published in Russia: it tells how or where to use or get drugs."),
    "other": N_("The channel admins decided not to publish it."),
}
_ACCEPTED = N_(
    "Your story was accepted. It will be published without anything about you. Thank you for "
    "sharing it."
)


async def submit(runtime: Runtime, story_id: int, *, client_id: int, language: str) -> bool:
    """Send the client's draft for review and tell the channel admins; False if it is not
    their draft (any more: sent already, or discarded)."""
    async with runtime.transaction() as session:
        sent = await stories.submit(session, story_id, client_id=client_id)
        if sent:
            await _tell_reviewers(runtime, session, story_id, language)
    return sent


async def approve(runtime: Runtime, story_id: int, *, by: int) -> int | None:
    """Make a draft post of a pending story and tell its author; returns the post's id, or
    None when the story was decided already (by another admin)."""
    try:
        async with runtime.transaction() as session:
            approved = await stories.approve(session, runtime.keys, story_id, by=by)
            if approved is None:
                return None
            post_id, client_id = approved
            if client_id is not None:
                _ = runtime.i18n.get(await clients.language_of(session, client_id))
                await _tell_author(runtime, session, client_id, _.gettext(_ACCEPTED))
    except StoryError:  # decided by someone else between the read and the update
        return None
    return post_id


async def reject(runtime: Runtime, story_id: int, reason: str, *, by: int) -> bool:
    """Reject a pending story with one of `REASONS` and tell its author why; False when it
    was decided already."""
    if reason not in REASONS:
        raise StoryError("bad_reason")
    async with runtime.transaction() as session:
        rejected = await stories.reject(session, runtime.keys, story_id, reason, by=by)
        if rejected is None:
            return False
        client_id = rejected[1]
        if client_id is not None:
            _ = runtime.i18n.get(await clients.language_of(session, client_id))
            text = _.gettext(
                "Your story was not published. The reason: %(reason)s You are welcome to write "
                "another one: /story",
                reason=_.gettext(REASONS[reason]),
            )
            await _tell_author(runtime, session, client_id, text)
    return True


async def _tell_author(runtime: Runtime, session: AsyncSession, client_id: int, text: str) -> None:
    """A notice to the story's author (read before the decision erased the link to them)."""
    await notify.send(
        session,
        runtime.keys,
        chat_ref=await clients.chat_ref(session, client_id),
        recipient=f"client:{client_id}",
        text=text,
        protect_content=runtime.settings.protect_content,
    )


async def _tell_reviewers(
    runtime: Runtime, session: AsyncSession, story_id: int, language: str
) -> None:
    await notify.posters(
        session,
        runtime,
        lambda _: _.gettext(
            "📝 A new story for review: #%(id)s (%(language)s). /stories lists them.",
            id=story_id,
            language=language.upper(),
        ),
        buttons=lambda _: [
            [
                {
                    "text": _.gettext("Read it"),
                    "callback_data": encode(StoryReview(story_id=story_id, decision="show")),
                }
            ]
        ],
    )
