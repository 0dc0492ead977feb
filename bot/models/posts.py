"""Channel admins: channels, posts and their versions, event reminders, clients' stories."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    LargeBinary,
    UniqueConstraint,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.dbtypes import CleanString, CleanText, Id, UtcDateTime
from bot.models.base import Base, one_of

POST_STATUSES = ("draft", "scheduled", "published", "cancelled", "deleted")
# The button under a post: none, ask a consultant, open a menu topic, or a link.
BUTTON_KINDS = ("none", "consult", "node", "url")
VERSION_KINDS = ("text", "photo", "document")
STORY_STATUSES = ("draft", "pending", "approved", "rejected")


class Channel(Base):
    """A Telegram channel the organisation publishes to; the bot is an administrator there."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # Keys.channel_key of the chat id
    key: Mapped[str] = mapped_column(CleanString(64), unique=True)
    chat_ref: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted chat id, to post
    title: Mapped[str] = mapped_column(CleanString(128))
    language: Mapped[str | None] = mapped_column(CleanString(2))  # None until an admin chooses it
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Why it is inactive, for the admin (e.g. "the bot was removed"); None while active.
    problem: Mapped[str | None] = mapped_column(CleanString(200))
    added_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class Post(Base):
    """A harm-reduction post: draft -> scheduled -> published (or cancelled / deleted).

    Posts are public texts of the organisation, so they are stored in the clear.
    """

    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_due", "status", "scheduled_at"),
        one_of("status", POST_STATUSES),
        one_of("button_kind", BUTTON_KINDS),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(CleanString(12), default="draft")
    # The button under the post: none | consult | node (a menu topic) | url.
    button_kind: Mapped[str] = mapped_column(CleanString(8), default="none", server_default="none")
    button_target: Mapped[str | None] = mapped_column(CleanString(300))  # a node id or a URL
    button_label: Mapped[str | None] = mapped_column(CleanString(64))  # for a url button only
    to_subscribers: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Subscribers whose language the post has no version in get this language's version
    # (e.g. a Kazakhstan NGO writing in Russian: Kazakh readers get Russian); None: nothing.
    others_get: Mapped[str | None] = mapped_column(CleanString(2))
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Made from content/posts/<slug>
    ready_slug: Mapped[str | None] = mapped_column(CleanString(24))
    # An invitation: the event's time; readers can ask for a reminder before it.
    event_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )


class PostVersion(Base):
    """One language of a post: Telegram HTML text, or a photo/document with that caption."""

    __tablename__ = "post_versions"
    __table_args__ = (UniqueConstraint("post_id", "language"), one_of("kind", VERSION_KINDS))

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(CleanString(2))
    kind: Mapped[str] = mapped_column(CleanString(8), default="text")  # text | photo | document
    text: Mapped[str] = mapped_column(CleanText, default="")  # HTML (parse_mode HTML)
    file_id: Mapped[str | None] = mapped_column(CleanString(256))


class PostChannel(Base):
    """A channel chosen for a post."""

    __tablename__ = "post_channels"
    __table_args__ = (UniqueConstraint("post_id", "channel_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))


class Reminder(Base):
    """A client asked to be reminded of an invitation's event (one per client and post).

    Not an outbox row until it is due: a pending outbox row would hold back everything else
    for that client until the event (the outbox keeps each chat's order)."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("client_id", "post_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    remind_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class Story(Base):
    """An experience story a client sent for publication, until a channel admin decides.

    The text is encrypted and the link to the client exists only while it waits: once
    approved (its text becomes a draft post) or rejected (the client is told why), both the
    text and the client are removed from this row, so a published story has no trace of who
    wrote it."""

    __tablename__ = "stories"
    __table_args__ = (one_of("status", STORY_STATUSES),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(CleanString(2))
    status: Mapped[str] = mapped_column(
        CleanString(10), default="draft"
    )  # draft|pending|approved|rejected
    body: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted
    reason: Mapped[str | None] = mapped_column(CleanString(24))  # why it was rejected
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
