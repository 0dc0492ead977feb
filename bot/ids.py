"""Numbers people type or send (command arguments, deep links, button data) turned into ids.

`str.isdigit()` is true for "²" and "١٢٣", which `int()` refuses or reads as another number,
and a long enough run of digits is past what a 64-bit column (or Telegram) can hold: both
raised from deep inside a handler instead of getting a polite "usage" or "not found".
"""

from __future__ import annotations

import re

INT64_MAX = 2**63 - 1
_ID = re.compile(r"-?[0-9]{1,19}")  # ASCII digits only; 19 digits cover every int64


def parse_id(text: str, *, negative: bool = False) -> int | None:
    """The id in `text`, or None if it is not plain ASCII digits within 64 bits (or negative
    when not allowed: chat ids of channels and groups are negative, row ids never)."""
    text = text.strip()
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    if abs(value) > INT64_MAX or (value < 0 and not negative):
        return None
    return value
