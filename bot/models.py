"""Database models (SQLAlchemy 2, typed). Every change here needs an Alembic revision.

Privacy rule (shared/DESIGN.md): no Telegram name, username, phone, language_code or raw id
is ever stored. A client is known by an HMAC of their Telegram id; the chat id is encrypted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.dbtypes import CleanString, CleanText, Id

# Named constraints keep Alembic batch migrations on SQLite and PostgreSQL in step.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Client(Base):
    """A person talking to the bot as a client, known only by a pseudonymous key."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(CleanString(64), unique=True)  # HMAC-SHA256 of the Telegram id
    chat_ref: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted chat id, to write back
    # Chosen in the bot, not Telegram's
    language: Mapped[str | None] = mapped_column(CleanString(2))
    privacy_seen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    country: Mapped[str | None] = mapped_column(CleanString(8))  # RU, UA, KZ, other
    city: Mapped[str | None] = mapped_column(CleanString(64))  # a key from content/cities.yaml
    # What free text from this client means right now (e.g. "city"); in the database so a
    # restart or a second bot process keeps the conversation where it was.
    awaiting: Mapped[str | None] = mapped_column(CleanString(32))
    # When that input lapses (bot/awaiting.py): a forgotten question never captures words later.
    awaiting_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What consultants call this person: a random code shown as a name in their language
    # ("a00n00-42" -> "Blue Fox 42", bot/services/pseudonyms.py; older rows: six digits).
    # Given at the first conversation.
    pseudonym: Mapped[str | None] = mapped_column(CleanString(16), unique=True)
    # Flood limit, in the database so every bot process counts the same messages.
    flood_window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    flood_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    no_follow_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Opted in to news from the organisation (in their chosen language); None: not subscribed.
    subscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The menu topic a deep link (e.g. a channel post's button) asked for before onboarding
    # was done: opened when it is, then cleared.
    start_node: Mapped[str | None] = mapped_column(CleanString(24))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Service(Base):
    """An entry of the referral directory."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("slug"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(CleanString(80))  # stable id for import/export round trips
    type: Mapped[str] = mapped_column(CleanString(24), index=True)
    country: Mapped[str] = mapped_column(CleanString(8), index=True)
    city: Mapped[str | None] = mapped_column(CleanString(64))  # None: serves the whole country
    name: Mapped[str] = mapped_column(CleanString(200))  # shown when a language has no version
    # The name and notes in each client language (bot/services/directory.py LANGUAGES); empty
    # ones fall back (kk to ru, then any language to `name`/`notes`).
    name_ru: Mapped[str | None] = mapped_column(CleanString(200))
    name_uk: Mapped[str | None] = mapped_column(CleanString(200))
    name_kk: Mapped[str | None] = mapped_column(CleanString(200))
    name_en: Mapped[str | None] = mapped_column(CleanString(200))
    address: Mapped[str | None] = mapped_column(CleanString(300))
    phone: Mapped[str | None] = mapped_column(CleanString(100))
    website: Mapped[str | None] = mapped_column(CleanString(300))
    hours: Mapped[str | None] = mapped_column(CleanString(200))
    languages: Mapped[str | None] = mapped_column(CleanString(40))  # comma-separated: ru,uk
    notes: Mapped[str | None] = mapped_column(CleanText)
    notes_ru: Mapped[str | None] = mapped_column(CleanText)
    notes_uk: Mapped[str | None] = mapped_column(CleanText)
    notes_kk: Mapped[str | None] = mapped_column(CleanText)
    notes_en: Mapped[str | None] = mapped_column(CleanText)
    source: Mapped[str | None] = mapped_column(CleanString(500))
    verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


# --- Human consultation -------------------------------------------------------------------


class Staff(Base):
    """A consultant, lawyer, psychologist, medic, supervisor or admin.

    Known by the same HMAC as clients, with the chat id encrypted: a seized database does
    not list the organisation's volunteers either.
    """

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(CleanString(64), unique=True)
    chat_ref: Mapped[bytes] = mapped_column(LargeBinary)
    display_name: Mapped[str] = mapped_column(CleanString(64))  # what clients see
    # Peer|lawyer|psychologist|medic|supervisor|admin
    role: Mapped[str] = mapped_column(CleanString(16))
    languages: Mapped[str] = mapped_column(CleanString(40))  # comma-separated: ru,uk
    topics: Mapped[str] = mapped_column(CleanString(300))  # comma-separated topics they take
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    max_active: Mapped[int] = mapped_column(SmallInteger, default=3, server_default="3")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The conversation their next plain message goes to (kept here to survive restarts).
    current_conversation_id: Mapped[int | None] = mapped_column(Id)
    # What their next plain message means, when it is not an answer to a client (e.g. the
    # text of a post being written: "post_text:12:uk"); in the database like everything else.
    awaiting: Mapped[str | None] = mapped_column(CleanString(40))
    # When that input lapses (bot/awaiting.py): a half-written post never captures an answer
    # meant for a client hours later.
    awaiting_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Care for consultants (bot/services/care.py): when this shift on duty began, whether its
    # "you have been on duty for hours" reminder went out, and when a break they took ends.
    on_duty_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duty_reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    break_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Invite(Base):
    """A one-time deep link that makes whoever opens it a staff member of a role."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # The token is never stored
    token_hash: Mapped[str] = mapped_column(CleanString(64), unique=True)
    role: Mapped[str] = mapped_column(CleanString(16))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Conversation(Base):
    """A client's request to a human: waiting -> active -> closed (or released/transferred)."""

    __tablename__ = "conversations"
    # Serves "the next waiting one, urgent first, then oldest" without sorting the queue: a
    # take looks at urgent = true, then urgent = false, each in index order (queue.take).
    __table_args__ = (Index("ix_conversations_queue", "status", "urgent", "created_at", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(CleanString(16), default="consult")  # consult | humanitarian
    status: Mapped[str] = mapped_column(CleanString(12), default="waiting")
    topic: Mapped[str] = mapped_column(CleanString(24))
    language: Mapped[str] = mapped_column(CleanString(2))
    country: Mapped[str] = mapped_column(CleanString(8))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    previous_id: Mapped[int | None] = mapped_column(Id)  # the client's earlier conversation
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(CleanString(32))  # for reports
    outcome_detail: Mapped[str | None] = mapped_column(CleanString(24))  # e.g. the service type
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted; purged
    # Staff forum mode: the conversation's topic in the staff supergroup.
    forum_topic_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # Transferred to a role (e.g. "lawyer"): only staff of that role may take it.
    wanted_role: Mapped[str | None] = mapped_column(CleanString(16))
    # "Did you get there?" after a referral: when to ask, and the answer.
    follow_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    follow_up_answer: Mapped[str | None] = mapped_column(CleanString(16))
    # An urgent conversation's consultant is offered a debrief once it closes; when it was.
    debrief_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SilentJoin(Base):
    """A supervisor reading along with a conversation (handlers/desk.py): they get a copy of
    what follows, both ways, and may whisper to the consultant; the client is never told.
    Deleted when they leave or take it over, and when it stops being active."""

    __tablename__ = "silent_joins"
    __table_args__ = (UniqueConstraint("conversation_id", "staff_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Message(Base):
    """Inbox: every message of a conversation, recorded (body encrypted) before it is relayed."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    update_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # dedup of redelivery
    author: Mapped[str] = mapped_column(CleanString(8))  # client | staff | note | system | whisper
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(CleanString(16))  # text, photo, document, voice, sticker, ...
    body: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted text or caption
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)  # in the sender's chat
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Outbox(Base):
    """Everything the bot must send as a consequence of a recorded event; a worker delivers it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "not_before"),
        Index("ix_outbox_sent", "recipient", "sent_message_id"),
        # The claim's "no earlier pending row for this recipient" check: without it, a
        # broadcast of thousands of rows makes every claim scan all of them (bench/broadcast.py).
        Index("ix_outbox_recipient_pending", "recipient", "status", "priority"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    status: Mapped[str] = mapped_column(CleanString(8), default="pending")  # pending | sent | dead
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 first; broadcasts later
    method: Mapped[str] = mapped_column(CleanString(32))  # a Bot API method, e.g. copyMessage
    chat_ref: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted recipient chat id
    # "client:<id>" / "staff:<id>" (database ids): finds what a reply or an edit refers to,
    # and what /forget must delete, without decrypting every chat_ref.
    recipient: Mapped[str] = mapped_column(CleanString(24))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted JSON parameters
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    # A channel post or news to a subscriber: its delivery is that post's progress.
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(CleanString(200))
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)  # in the recipient's chat
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The worker (`DeliveryWorker.id`) whose lease this is, while leased; a restarted process
    # frees a dead worker's leases at once (bot/delivery.py). No foreign key: the row that
    # frees them also deletes the worker, in one statement order we control.
    leased_by: Mapped[int | None] = mapped_column(Id, index=True)


class DeliveryWorkerRow(Base):
    """A running outbox worker: its heartbeat says whether the leases it holds are still live."""

    __tablename__ = "delivery_workers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Who took, transferred, closed or looked at what (no message content)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(CleanString(24))
    conversation_id: Mapped[int | None] = mapped_column(Id)
    detail: Mapped[str | None] = mapped_column(CleanString(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Block(Base):
    """A client blocked by staff (by pseudonym), with a reason; a supervisor can lift it."""

    __tablename__ = "blocks"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    reason: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted: it may quote the client
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- Consultant tools: canned answers and the weekly rota ---------------------------------


class CannedAnswer(Base):
    """A ready answer in one language that consultants send with a button; supervisors
    manage them."""

    __tablename__ = "canned_answers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    language: Mapped[str] = mapped_column(CleanString(2), index=True)
    title: Mapped[str] = mapped_column(CleanString(60))
    body: Mapped[str] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RotaSlot(Base):
    """A weekly slot a member is on call, in the organisation's time zone (minutes of the day;
    end_minute is exclusive, at most 1440)."""

    __tablename__ = "rota_slots"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 Monday ... 6 Sunday
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)


# --- Channel admins: channels, posts, broadcasts ------------------------------------------


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Post(Base):
    """A harm-reduction post: draft -> scheduled -> published (or cancelled / deleted).

    Posts are public texts of the organisation, so they are stored in the clear.
    """

    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_due", "status", "scheduled_at"),)

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
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Made from content/posts/<slug>
    ready_slug: Mapped[str | None] = mapped_column(CleanString(24))
    # An invitation: the event's time; readers can ask for a reminder before it.
    event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PostVersion(Base):
    """One language of a post: Telegram HTML text, or a photo/document with that caption."""

    __tablename__ = "post_versions"
    __table_args__ = (UniqueConstraint("post_id", "language"),)

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
    remind_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Story(Base):
    """An experience story a client sent for publication, until a channel admin decides.

    The text is encrypted and the link to the client exists only while it waits: once
    approved (its text becomes a draft post) or rejected (the client is told why), both the
    text and the client are removed from this row, so a published story has no trace of who
    wrote it."""

    __tablename__ = "stories"

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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- Surveys -----------------------------------------------------------------------------


class Survey(Base):
    """A short survey: draft -> open (sent to subscribers and/or posted in channels) -> closed."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(CleanString(8), default="draft")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SurveyQuestion(Base):
    """One question, in the languages it was written in: {"ru": {"q": ..., "options": [...]}}."""

    __tablename__ = "survey_questions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    texts: Mapped[str] = mapped_column(CleanText)  # JSON


class SurveyTally(Base):
    """How many answers an option got in the bot (counts only: no answer is kept per person)."""

    __tablename__ = "survey_tallies"
    __table_args__ = (UniqueConstraint("question_id", "option"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    option: Mapped[int] = mapped_column(SmallInteger)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SurveyVote(Base):
    """That someone answered a question, to stop a second answer: a keyed hash of the client
    and the question (unlinkable to the client row without the secret key), and no answer."""

    __tablename__ = "survey_votes"
    __table_args__ = (UniqueConstraint("question_id", "voter"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    voter: Mapped[str] = mapped_column(CleanString(64))


class SurveyRecipient(Base):
    """Someone a survey was sent to, so that only they can answer it (a forged button from
    anyone else is refused): a keyed hash of the client and the survey, like `SurveyVote`,
    unlinkable to the client row without the secret key."""

    __tablename__ = "survey_recipients"
    __table_args__ = (UniqueConstraint("survey_id", "recipient"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(CleanString(64))


class SurveyPoll(Base):
    """A question posted as a Telegram poll in a channel; Telegram counts its votes."""

    __tablename__ = "survey_polls"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    poll_id: Mapped[str] = mapped_column(CleanString(64), unique=True)
    message_id: Mapped[int] = mapped_column(BigInteger)
    counts: Mapped[str] = mapped_column(CleanText, default="[]")  # JSON: votes per option


class ChatTrace(Base):
    """A message in a private chat that /hide and /forget must be able to delete: every one
    the bot sent and every one the person wrote, whatever path it went through. Only the
    message id and the person's HMAC key (as `Client.key`), kept 48 hours: Telegram lets a
    bot delete messages in a private chat for that long, and not longer."""

    __tablename__ = "chat_traces"
    __table_args__ = (Index("ix_chat_traces_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(CleanString(64))
    message_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
