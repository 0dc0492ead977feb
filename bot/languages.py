"""The languages Peerline speaks with people: one list for every module that needs it.

The order is the order they are offered and listed in (language buttons, a post's versions).
A new language is added here, in the translations (locales/), in content/ and wherever a
column is per language (`Service.name_<code>`).
"""

from __future__ import annotations

from typing import Literal, TypeGuard, get_args

Language = Literal["ru", "uk", "kk", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)


def is_language(value: object) -> TypeGuard[Language]:
    """Whether `value` is one of LANGUAGES (narrows a str to `Language` for mypy)."""
    return value in LANGUAGES
