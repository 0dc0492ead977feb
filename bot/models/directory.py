"""The referral directory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.dbtypes import CleanString, CleanText, Id, UtcDateTime
from bot.models.base import Base


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
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )
