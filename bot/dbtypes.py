"""Column types that make what is stored the same on SQLite and PostgreSQL.

- `Id`: 64-bit on PostgreSQL, where INTEGER is 32-bit and a forged or merely large number
  (`/start remind_2147483648`, a 10-digit button argument) raised "value out of int32 range"
  instead of finding nothing. SQLite's INTEGER is already 64-bit, and only "INTEGER PRIMARY
  KEY" is the auto-incrementing rowid, so SQLite keeps INTEGER.
- `CleanString` / `CleanText`: text is cleaned of NUL and other control characters (tab and
  newline are kept) and of lone surrogates as it is bound, for inserts and lookups alike.
  PostgreSQL refuses a NUL in text and both drivers refuse a lone surrogate, so a canned answer
  or a post with one failed there while SQLite kept it. Doing it in the column type cleans every
  service's writes at the one boundary they share, instead of in each handler.
- `UtcDateTime`: a moment, always aware UTC in Python. SQLite keeps no offset and hands back
  naive wall times, PostgreSQL hands back the session's zone; both become aware UTC as they
  are read, and a naive value bound (a row's field or a comparison) is taken as UTC and an
  aware one converted, so no service needs its own `_utc()`.
- `CommaList`: a short list of codes (a staff member's languages, topics) stored as "ru,uk";
  Python sees a tuple. Binding accepts a tuple/list or the stored form ("ru, uk").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

Id = BigInteger().with_variant(Integer(), "sqlite")

# C0 controls but tab (\x09) and newline (\x0a), DEL and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """`value` without control characters (but \\n and \\t), lone surrogates as U+FFFD."""
    value = _CONTROL.sub("", value)
    return _SURROGATE.sub("\ufffd", value)


class CleanString(TypeDecorator[str]):
    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return clean_text(value) if isinstance(value, str) else value


class CleanText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return clean_text(value) if isinstance(value, str) else value


def as_utc(moment: datetime) -> datetime:
    """`moment` as aware UTC; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return as_utc(value) if isinstance(value, datetime) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return as_utc(value) if isinstance(value, datetime) else value


def split_codes(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """ "ru, uk" or ["ru", " uk"] -> ("ru", "uk"): stripped, empty parts dropped."""
    parts = (value or "").split(",") if isinstance(value, str | None) else value
    return tuple(part.strip() for part in parts if part.strip())


class CommaList(TypeDecorator[tuple[str, ...]]):
    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return clean_text(",".join(split_codes(value)))

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[str, ...] | None:
        return None if value is None else split_codes(value)
