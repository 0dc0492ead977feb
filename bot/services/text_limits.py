"""Telegram's length limits, counted as Telegram counts them, and texts cut to fit.

The limits (4,096 characters of text, 1,024 of caption, counted after the HTML is parsed)
are the sender's, not ours: a message that fills them must still arrive whole, so a text
longer than Telegram allows is split at a line or word break; nothing is cut off.
"""

from __future__ import annotations

import html
import re

TEXT_LIMIT = 4096  # characters of a text message, after entities are parsed
CAPTION_LIMIT = 1024  # characters of a media caption, after entities are parsed
_TAG = re.compile(r"<[^>]*>")


def shown_length(html_text: str) -> int:
    """How long Telegram counts an HTML text: tags parsed away, entities as one character,
    in UTF-16 code units (an emoji counts two), which is never less than the characters
    Telegram counts, so what fits here fits there."""
    plain = html.unescape(_TAG.sub("", html_text))
    return len(plain.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def text_parts(header: str | None, raw: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`raw` (plain text) as HTML messages of at most `limit` shown characters: with the
    header on the first one if it fits, else the header alone first; a text longer than
    the limit split at a line or word break. Joined, the parts are `raw` exactly."""
    body = escape(raw)
    if header and shown_length(f"{header}\n{body}") <= limit:
        return [f"{header}\n{body}"]
    parts = [header] if header else []
    return parts + [escape(chunk) for chunk in _chunks(raw, limit)]


def _chunks(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` UTF-16 units, cut after a line break or a space
    in the second half of a piece if there is one (never inside a surrogate pair)."""
    pieces: list[str] = []
    while len(text.encode("utf-16-le")) // 2 > limit:
        units, cut = 0, 0
        for index, char in enumerate(text):
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                cut = index
                break
        space = max(text.rfind("\n", 0, cut), text.rfind(" ", 0, cut))
        if space >= cut // 2:
            cut = space + 1
        pieces.append(text[:cut])
        text = text[cut:]
    if text or not pieces:
        pieces.append(text)
    return pieces
