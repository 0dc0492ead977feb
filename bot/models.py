"""Database models (SQLAlchemy 2, typed). Every change here needs an Alembic revision.

Privacy rule (shared/DESIGN.md): no Telegram name, username, phone, language_code or raw id
is ever stored. A client is known by an HMAC of their Telegram id; the chat id is encrypted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC-SHA256 of the Telegram id
    chat_ref: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted chat id, to write back
    language: Mapped[str | None] = mapped_column(String(2))  # chosen in the bot, not Telegram's
    privacy_seen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    country: Mapped[str | None] = mapped_column(String(8))  # RU, UA, KZ, other
    city: Mapped[str | None] = mapped_column(String(64))  # a key from content/cities.yaml
    # What free text from this client means right now (e.g. "city"); in the database so a
    # restart or a second bot process keeps the conversation where it was.
    awaiting: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Service(Base):
    """An entry of the referral directory."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80))  # stable id for import/export round trips
    type: Mapped[str] = mapped_column(String(24), index=True)
    country: Mapped[str] = mapped_column(String(8), index=True)
    city: Mapped[str | None] = mapped_column(String(64))  # None: serves the whole country
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(300))
    hours: Mapped[str | None] = mapped_column(String(200))
    languages: Mapped[str | None] = mapped_column(String(40))  # comma-separated: ru,uk
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(500))
    verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
