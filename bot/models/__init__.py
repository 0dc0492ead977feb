"""Database models (SQLAlchemy 2, typed), one module per domain. Every change here needs an
Alembic revision.

Privacy rule (shared/DESIGN.md): no Telegram name, username, phone, language_code or raw id
is ever stored. A client is known by an HMAC of their Telegram id; the chat id is encrypted.

Everything is imported here on purpose: `Base.metadata` must hold every table for Alembic
and `create_all`, and callers keep writing `from bot.models import Client`.
"""

from bot.models.base import NAMING, Base, one_of
from bot.models.clients import ChatTrace, Client
from bot.models.conversations import (
    AUTHORS,
    CONVERSATION_KINDS,
    CONVERSATION_STATUSES,
    FOLLOW_UP_ANSWERS,
    Conversation,
    Message,
    SilentJoin,
)
from bot.models.directory import Service
from bot.models.outbox import OUTBOX_STATUSES, DeliveryWorkerRow, Outbox
from bot.models.posts import (
    BUTTON_KINDS,
    POST_STATUSES,
    STORY_STATUSES,
    VERSION_KINDS,
    Channel,
    Post,
    PostChannel,
    PostVersion,
    Reminder,
    Story,
)
from bot.models.staff import (
    STAFF_ROLES,
    AuditEntry,
    Block,
    CannedAnswer,
    Invite,
    RotaSlot,
    Staff,
)
from bot.models.surveys import (
    SURVEY_STATUSES,
    Survey,
    SurveyPoll,
    SurveyQuestion,
    SurveyRecipient,
    SurveyTally,
    SurveyVote,
)

__all__ = [
    "AUTHORS",
    "BUTTON_KINDS",
    "CONVERSATION_KINDS",
    "CONVERSATION_STATUSES",
    "FOLLOW_UP_ANSWERS",
    "NAMING",
    "OUTBOX_STATUSES",
    "POST_STATUSES",
    "STAFF_ROLES",
    "STORY_STATUSES",
    "SURVEY_STATUSES",
    "VERSION_KINDS",
    "AuditEntry",
    "Base",
    "Block",
    "CannedAnswer",
    "Channel",
    "ChatTrace",
    "Client",
    "Conversation",
    "DeliveryWorkerRow",
    "Invite",
    "Message",
    "Outbox",
    "Post",
    "PostChannel",
    "PostVersion",
    "Reminder",
    "RotaSlot",
    "Service",
    "SilentJoin",
    "Staff",
    "Story",
    "Survey",
    "SurveyPoll",
    "SurveyQuestion",
    "SurveyRecipient",
    "SurveyTally",
    "SurveyVote",
    "one_of",
]
