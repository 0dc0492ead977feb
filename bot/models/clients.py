"""Clients: the people who talk to the bot, and the traces of their private chats.

Privacy rule (shared/DESIGN.md): no Telegram name, username, phone, language_code or raw id
is ever stored. A client is known by an HMAC of their Telegram id; the chat id is encrypted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.dbtypes import CleanString, Id, UtcDateTime
from bot.models.base import Base


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
    awaiting_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # What consultants call this person: a random code shown as a name in their language
    # ("a00n00-42" -> "Blue Fox 42", bot/services/pseudonyms.py; older rows: six digits).
    # Given at the first conversation.
    pseudonym: Mapped[str | None] = mapped_column(CleanString(16), unique=True)
    # Flood limit, in the database so every bot process counts the same messages.
    flood_window_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    flood_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    no_follow_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Opted in to news from the organisation (in their chosen language); None: not subscribed.
    subscribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The menu topic a deep link (e.g. a channel post's button) asked for before onboarding
    # was done: opened when it is, then cleared.
    start_node: Mapped[str | None] = mapped_column(CleanString(24))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


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
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
