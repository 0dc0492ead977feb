"""How button data is written and read; the kinds themselves are in bot/callbacks.py.

Buttons outlive deploys and can be forged, so every payload is parsed against its kind's
schema; anything that does not parse is answered as a stale button, never trusted. A kind is a
frozen dataclass whose fields, in order, are the schema's groups: `int` fields are read as
ints, `bool` fields as "1"/"0", the rest as strings, and a trailing `X | None` field is an
optional group. Import `bot.callbacks` (which registers every kind), not this module.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import ClassVar, TypeVar, dataclass_transform

VERSION = "1"
MAX_LENGTH = 64  # Telegram's limit in bytes; the data is ASCII, so characters are bytes

C = TypeVar("C", bound="Callback")


@dataclass(frozen=True)
class Callback:
    """One button's data. `kind` and `pattern` are set by `@kind(...)` on each subclass."""

    kind: ClassVar[str]
    pattern: ClassVar[re.Pattern[str]]


_KINDS: dict[str, type[Callback]] = {}
KINDS: Mapping[str, type[Callback]] = types.MappingProxyType(_KINDS)
# The class of each kind as a plain constructor, and how each field is read from its group.
_MAKE: dict[str, Callable[..., Callback]] = {}
_READERS: dict[str, tuple[Callable[[str], object], ...]] = {}


def _reader(hint: object) -> Callable[[str], object]:
    if hint is bool:
        return lambda text: text == "1"
    if hint is int or (int in typing.get_args(hint) and type(None) in typing.get_args(hint)):
        return int
    return str


@dataclass_transform(frozen_default=True)
def kind(name: str, pattern: str) -> Callable[[type[C]], type[C]]:
    """Register a class as the kind `name` whose arguments match `pattern` (joined by ":")."""

    def register(cls: type[C]) -> type[C]:
        if name in _KINDS:
            raise ValueError(f"callback kind {name!r} registered twice")
        cls = dataclass(frozen=True)(cls)
        cls.kind, cls.pattern = name, re.compile(pattern)
        hints = typing.get_type_hints(cls)
        names = [field.name for field in fields(cls)]
        if cls.pattern.groups != len(names):
            raise ValueError(f"{cls.__name__}: {len(names)} fields, {cls.pattern.groups} groups")
        _KINDS[name], _MAKE[name] = cls, cls
        _READERS[name] = tuple(_reader(hints[n]) for n in names)
        return cls

    return register


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _arguments(callback: Callback) -> str:
    values = [getattr(callback, field.name) for field in fields(callback)]
    while values and values[-1] is None:  # absent optional groups are the trailing ones
        values.pop()
    if None in values:
        raise ValueError(f"{callback!r}: only trailing fields may be left out")
    return ":".join(map(_text, values))


def encode(value: Callback) -> str:
    """The data for a button: `encode(Take(conversation_id=5))` gives "1take:5"."""
    data = f"{VERSION}{value.kind}:{_arguments(value)}"
    if parse(data) != value:
        raise ValueError(f"callback data does not fit its schema: {data!r}")
    return data


@functools.lru_cache(maxsize=1024)
def parse(data: str | None) -> Callback | None:
    """The callback, or None for anything stale, foreign or forged. Cached: every button
    handler's pattern asks for it (dozens per press), and a callback is a frozen value."""
    # ASCII only: `\d` in the schema also matches other scripts' digits ("၂", which int()
    # reads as 2), so a forged "1svy:၂:multi" parsed as survey 2 (found by tests/test_fuzz.py).
    if not data or len(data) > MAX_LENGTH or not data.isascii() or not data.startswith(VERSION):
        return None
    name, _, rest = data[len(VERSION) :].partition(":")
    cls = _KINDS.get(name)
    match = cls.pattern.fullmatch(rest) if cls else None
    if match is None:
        return None
    values = [
        None if group is None else read(group)
        for read, group in zip(_READERS[name], match.groups(), strict=True)
    ]
    return _MAKE[name](*values)


def parse_as(data: str | None, cls: type[C]) -> C | None:
    """The callback if it parses as this kind, else None."""
    callback = parse(data)
    return callback if isinstance(callback, cls) else None


def pattern_for(kind: type[Callback], *first: str) -> Callable[[object], bool]:
    """A CallbackQueryHandler pattern: only well-formed payloads of this kind (and, if given,
    whose first fields read as these strings) match, so anything else falls through to the
    stale-button handler."""
    if _KINDS.get(getattr(kind, "kind", "")) is not kind:
        raise ValueError(f"unknown callback kind {kind!r}")

    def matches(data: object) -> bool:
        callback = parse(data) if isinstance(data, str) else None
        if not isinstance(callback, kind):
            return False
        if not first:
            return True
        leading = [getattr(callback, field.name) for field in fields(callback)[: len(first)]]
        return [_text(value) for value in leading] == list(first)

    return matches
