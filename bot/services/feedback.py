"""A client's rating of a closed conversation: the request, the stars, the optional comment."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import OpenMenu, Rate, encode
from bot.crypto import Keys
from bot.i18n import Translator
from bot.models import Conversation
from bot.services.queue_base import CLOSED, transition

COMMENT_MAX = 1000  # characters of a rating comment


def rating_request(_: Translator, conversation_id: int) -> tuple[str, list[list[dict[str, str]]]]:
    """What a client reads when their conversation closes: thanks, and 1-5 stars; under them
    the main menu and first aid, as under every client screen."""
    text = _.gettext(
        "The conversation is closed. Thank you for writing to us.\n"
        "How helpful was it? (1 – not at all, 5 – very)"
    )
    stars = [
        {"text": str(n), "callback_data": encode(Rate(conversation_id, n))} for n in range(1, 6)
    ]
    menu = [
        {"text": "☰ " + _.gettext("Main menu"), "callback_data": encode(OpenMenu("main"))},
        {"text": "🆘 " + _.gettext("Overdose"), "callback_data": encode(OpenMenu("overdose"))},
    ]
    return text, [stars, menu]


async def rate(session: AsyncSession, conversation_id: int, client_id: int, rating: int) -> bool:
    """Record the client's 1-5 rating of their own closed conversation, once.

    False (nothing stored) for anything else: out of range, not theirs, not closed, rated.
    """
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        return False
    return await transition(
        session,
        conversation_id,
        [
            Conversation.client_id == client_id,
            Conversation.status == CLOSED,
            Conversation.rating.is_(None),
        ],
        {"rating": rating},
    )


async def add_rating_comment(
    session: AsyncSession, keys: Keys, conversation_id: int, client_id: int, comment: str
) -> bool:
    """The optional comment after a rating (encrypted; deleted with the retention purge)."""
    blob = keys.encrypt_text(comment[:COMMENT_MAX], purpose=b"rating-comment")
    return await transition(
        session,
        conversation_id,
        [
            Conversation.client_id == client_id,
            Conversation.status == CLOSED,
            Conversation.rating.is_not(None),
            Conversation.rating_comment.is_(None),
        ],
        {"rating_comment": blob},
    )
