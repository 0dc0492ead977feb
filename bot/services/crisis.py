"""Reading a client's free text for danger: an overdose, suicidal thoughts, violence now.

The dispatcher asks `crisis_reader.detect(text)` for every non-command private message
before anything else (shared/DESIGN.md, "One front door per update"); a hit answers first
with the screen `HELP_NODE[kind]` and offers an urgent consultant.

The phrases are data, not code: `content/crisis/phrases.yaml`, where an organisation can read
and change them (its header explains the notation). Matching is deliberately plain so that a
reviewer can say why a message did or did not fire (`crisis_reader.explain(text)` lists the
phrases):
- text and phrases are reduced to the same "skeleton": lower case, ё/й/є/і/ї and the Kazakh
  letters folded to plain Russian ones, ь/ъ and apostrophes dropped, doubled letters
  collapsed, Latin look-alikes inside Cyrillic words (and vice versa) replaced;
- a phrase is a few words; `word*` matches any ending, so Cyrillic inflections match;
  words or stems of 6+ letters of danger phrases forgive one typo (insert, delete, replace, swap);
- one extra word may stand between two words of a phrase, never a negation; a phrase right
  after a negation ("я не хочу умереть") does not count;
- "now" phrases fire alone; "topic" phrases ("передозировка") fire unless the message reads
  as a general question, the future, statistics or the past ("not_now"), and an "urgent"
  word ("помогите") overrides that.
Languages are not told apart: every message is checked against every language's phrases,
because people mix them. No machine learning on purpose: every decision is reviewable.

Cost: each distinct word is matched once (cached), a message then costs a few dictionary
look-ups per word; see tests/test_crisis.py for the measured time.

Here: the kinds, the screen each one answers with, and the phrases file read and checked.
The skeleton and the typo rule are in crisis_text.py, the matching in crisis_reader.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from bot.languages import LANGUAGES

PHRASES_FILE = Path(__file__).resolve().parents[2] / "content" / "crisis" / "phrases.yaml"


class CrisisKind(StrEnum):
    """What kind of danger a message speaks of; the order is the priority of `detect`."""

    OVERDOSE = "overdose"
    SUICIDE = "suicide"
    VIOLENCE = "violence"


# The content node (content/menu.yaml) whose screen the bot shows on a hit.
HELP_NODE: dict[CrisisKind, str] = {
    CrisisKind.OVERDOSE: "overdose",
    CrisisKind.SUICIDE: "crisis_suicide",
    CrisisKind.VIOLENCE: "crisis_violence",
}


class PhraseError(ValueError):
    """The phrases file is malformed; the message says where."""


@dataclass(frozen=True)
class Hit:
    """One phrase of phrases.yaml found in a message."""

    kind: CrisisKind | None  # None for the kind-less "not_now" and "urgent" lists
    section: str  # "now", "topic", "not_now" or "urgent"
    language: str
    phrase: str  # as written in phrases.yaml


def read_phrases(path: Path = PHRASES_FILE) -> dict[str, object]:
    """The phrases file as data (checked by `entries`); PhraseError if it cannot be read."""
    try:
        with path.open(encoding="utf-8") as fp:
            data = yaml.safe_load(fp)
    except (OSError, yaml.YAMLError) as exc:
        raise PhraseError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise PhraseError(f"{path}: expected a mapping at the top")
    return data


def strings(value: object, where: str) -> list[str]:
    """A list of non-empty phrases, or PhraseError naming where in the file."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PhraseError(f"phrases.yaml: {where} must be a list of phrases")
    return value


def entries(data: Mapping[str, object]) -> Iterable[tuple[str, CrisisKind | None, str, str]]:
    """Every phrase of the file as (section, kind, language, phrase); PhraseError for a
    missing kind, section or language."""
    for kind in CrisisKind:
        spec = data.get(kind.value)
        if not isinstance(spec, dict) or set(spec) != {"now", "topic"}:
            raise PhraseError(f"phrases.yaml: {kind.value} needs 'now' and 'topic'")
        for section in ("now", "topic"):
            yield from _by_language(spec[section], section, kind)
    for section in ("not_now", "urgent"):
        yield from _by_language(data.get(section), section, None)


def _by_language(
    value: object, section: str, kind: CrisisKind | None
) -> Iterable[tuple[str, CrisisKind | None, str, str]]:
    where = f"{kind.value}/{section}" if kind else section
    if not isinstance(value, dict) or set(value) != set(LANGUAGES):
        raise PhraseError(f"phrases.yaml: {where} needs exactly the languages {LANGUAGES}")
    for language in LANGUAGES:
        for source in strings(value[language], f"{where}/{language}"):
            yield section, kind, language, source
