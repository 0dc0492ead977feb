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
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text
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
