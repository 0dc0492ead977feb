"""Opening hours of a directory entry, written once by an editor and shown in each language.

Editors write hours in a small fixed form, in English or with Russian, Ukrainian or Kazakh
day abbreviations: "Mon-Fri 10:00-18:00; Sat 10:00-14:00", "Пн-Пт 9:00-13:00, 14:00-18:00",
"24/7". A client then reads "Пн–Пт 10:00–18:00" in Russian, "Дс–Жм 10:00–18:00" in Kazakh.
Day names come from the CLDR data Babel ships, so no language needs its own table here.
Anything that does not fit the form is shown as written (an editor's free text is better than
nothing), which is why the import checks it (directory_io) and the seed uses the form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from babel.dates import get_day_names

from bot.languages import LANGUAGES

ALWAYS = {"24/7", "24x7", "24/7/365"}
_TIME = r"(\d{1,2})[:.](\d{2})"
_RANGE = re.compile(rf"{_TIME}\s*[-–—]\s*{_TIME}")
_DAYS = re.compile(r"^([^\W\d_]+)(?:\s*[-–—]\s*([^\W\d_]+))?$")


@dataclass(frozen=True)
class Group:
    """Days first..last (0 = Monday) and their opening times as (start, end) "HH:MM" pairs."""

    first: int
    last: int
    times: tuple[tuple[str, str], ...]


@lru_cache(maxsize=1)
def _day_numbers() -> dict[str, int]:
    """Every abbreviation and full day name in our languages -> 0..6, lower-case."""
    numbers: dict[str, int] = {}
    for language in LANGUAGES:
        for width in ("abbreviated", "wide", "short"):
            for number, name in get_day_names(width, locale=language).items():
                numbers[name.casefold().rstrip(".")] = number
    return numbers


def parse(text: str | None) -> tuple[Group, ...] | None:
    """The groups of a "Mon-Fri 10:00-18:00; Sat 10:00-14:00" text; () for 24/7; None when
    the text does not follow the form."""
    if not text or not text.strip():
        return None
    if text.strip().casefold() in ALWAYS:
        return ()
    groups = []
    for part in text.split(";"):
        group = _group(part.strip())
        if group is None:
            return None
        groups.append(group)
    return tuple(groups)


def _group(part: str) -> Group | None:
    first_time = _RANGE.search(part)
    if first_time is None:
        return None
    days = _DAYS.match(part[: first_time.start()].strip().rstrip(":"))
    if days is None:
        return None
    numbers = _day_numbers()
    first = numbers.get(days.group(1).casefold().rstrip("."))
    last = numbers.get((days.group(2) or days.group(1)).casefold().rstrip("."))
    if first is None or last is None or last < first:
        return None
    rest = part[first_time.start() :]
    times = []
    for chunk in rest.split(","):
        match = _RANGE.fullmatch(chunk.strip())
        if match is None:
            return None
        start_h, start_m, end_h, end_m = (int(value) for value in match.groups())
        if max(start_h, end_h) > 24 or max(start_m, end_m) > 59:
            return None
        times.append((f"{start_h:02d}:{start_m:02d}", f"{end_h:02d}:{end_m:02d}"))
    return Group(first, last, tuple(times))


def render(text: str | None, language: str, always: str) -> str | None:
    """Hours for a client in `language`; `always` is the translated "open 24/7" phrase.

    Text that does not follow the form is returned unchanged."""
    groups = parse(text)
    if groups is None:
        return text.strip() if text and text.strip() else None
    if not groups:
        return always
    names = get_day_names("abbreviated", locale=language if language in LANGUAGES else "en")

    def day(number: int) -> str:
        name = names[number]
        return name[:1].upper() + name[1:]

    parts = []
    for group in groups:
        days = day(group.first)
        if group.last != group.first:
            days += "–" + day(group.last)
        times = ", ".join(f"{start}–{end}" for start, end in group.times)
        parts.append(f"{days} {times}")
    return "; ".join(parts)
