"""Reading a client's free text for danger: an overdose, suicidal thoughts, violence now.

The dispatcher asks `detect(text)` for every non-command private message before anything
else (shared/DESIGN.md, "One front door per update"); a hit answers first with the screen
`HELP_NODE[kind]` and offers an urgent consultant.

The phrases are data, not code: `content/crisis/phrases.yaml`, where an organisation can read
and change them (its header explains the notation). Matching is deliberately plain so that a
reviewer can say why a message did or did not fire (`explain(text)` lists the phrases):
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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path

import yaml

from bot.languages import LANGUAGES

PHRASES_FILE = Path(__file__).resolve().parents[2] / "content" / "crisis" / "phrases.yaml"
# Telegram caps a message at 4,096 characters; a pasted wall of text is cut, not refused.
MAX_INPUT = 4096
# Shorter words would forgive too much ("dying" is one typo away from "doing").
FUZZY_MIN = 6
MAX_GAP = 1  # extra words allowed between two words of a phrase


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


# ------------------------------------------------------------------------- normalising

# Folded to the letter a hurried writer would type instead; ь/ъ and apostrophes vanish.
_FOLD = str.maketrans(
    {
        "ё": "е", "й": "и", "є": "е", "і": "и", "ї": "и", "ґ": "г",
        "ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х",
        "ь": None, "ъ": None, "'": None, "’": None, "ʼ": None, "`": None, "´": None,
        "‘": None,
    }
)  # fmt: skip
# Latin letters (and digits) that look like Cyrillic ones, and the reverse.
_TO_CYRILLIC = str.maketrans("abcehikmoptxy036", "авсенікмортхуозб")
_TO_LATIN = str.maketrans("авсенікмортху", "abcehikmoptxy")
_CYRILLIC_LETTER = re.compile(r"[а-яёіїєґәғқңөұүһ]")
_LATIN_LETTER = re.compile(r"[a-z]")
_WORD = re.compile(r"[0-9a-zа-яёіїєґәғқңөұүһ'’ʼ`´‘]+")
_REPEAT = re.compile(r"(.)\1+")
_DIGIT = re.compile(r"[036]")
_LOOKALIKES = frozenset("abcehikmoptxy")


def _script_fix(word: str, cyrillic_text: bool) -> str:
    cyr = len(_CYRILLIC_LETTER.findall(word))
    lat = len(_LATIN_LETTER.findall(word))
    if cyr and (lat or _DIGIT.search(word)):  # "пoмoгите", "п0могите": mostly Cyrillic
        return word.translate(_TO_CYRILLIC if cyr >= lat else _TO_LATIN)
    if lat and cyr:
        return word.translate(_TO_LATIN)
    if lat and cyrillic_text and set(word) <= _LOOKALIKES:  # "He дышит"
        return word.translate(_TO_CYRILLIC)
    return word


def words(text: str) -> list[str]:
    """The message as a list of skeleton words (see the module docstring)."""
    lowered = text[:MAX_INPUT].lower()
    raw = _WORD.findall(lowered)
    cyr = sum(len(_CYRILLIC_LETTER.findall(w)) for w in raw)
    lat = sum(len(_LATIN_LETTER.findall(w)) for w in raw)
    out = []
    for word in raw:
        fixed = _script_fix(word, cyrillic_text=cyr > lat).translate(_FOLD)
        fixed = _REPEAT.sub(r"\1", fixed)
        if fixed:
            out.append(fixed)
    return out


def normalize(text: str) -> str:
    """The skeleton of a text as one string: what phrases are matched against."""
    return " ".join(words(text))


# ------------------------------------------------------------------------- fuzzy words


def _within_one(a: str, b: str) -> bool:
    """At most one insert, delete, replace or swap of neighbours between a and b."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i:] == b[i + 1 :]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass(frozen=True)
class _Pattern:
    text: str
    prefix: bool  # "word*"


@dataclass(frozen=True)
class _Phrase:
    kind: CrisisKind | None
    section: str
    language: str
    source: str
    parts: tuple[int, ...]  # pattern ids
    negated_start: bool  # starts with a negation ("не дышит")


class CrisisReader:
    """Phrases compiled for matching; build once (`reader()`), then call `detect`."""

    def __init__(self, data: Mapping[str, object]) -> None:
        self._patterns: list[_Pattern] = []
        self._pattern_ids: dict[_Pattern, int] = {}
        self._negators = frozenset(words(" ".join(_strings(data.get("negators"), "negators"))))
        self._phrases: list[_Phrase] = []
        for section, kind, language, source in _entries(data):
            self._add_phrase(section, kind, language, source)
        self._by_first: dict[int, list[_Phrase]] = {}
        for phrase in self._phrases:
            self._by_first.setdefault(phrase.parts[0], []).append(phrase)
        self._exact: dict[str, set[int]] = {}
        self._prefix: dict[str, set[int]] = {}
        self._fuzzy_exact: dict[str, set[int]] = {}
        self._fuzzy_prefix: dict[str, set[int]] = {}
        # Only danger phrases forgive a typo: "not_now" and "urgent" words, which switch
        # "topic" phrases off and on, match exactly ("помоги" must not match "помощи").
        fuzzy_ok = {pid for ph in self._phrases if ph.kind is not None for pid in ph.parts}
        for pid, pattern in enumerate(self._patterns):
            (self._prefix if pattern.prefix else self._exact).setdefault(pattern.text, set()).add(
                pid
            )
            if len(pattern.text) >= FUZZY_MIN and pid in fuzzy_ok:
                index = self._fuzzy_prefix if pattern.prefix else self._fuzzy_exact
                for key in {pattern.text, *_deletions(pattern.text)}:
                    index.setdefault(key, set()).add(pid)
        self._prefix_lengths = sorted({len(p.text) for p in self._patterns if p.prefix})
        self._fuzzy_lengths = range(
            FUZZY_MIN - 1,
            max((len(p.text) for p in self._patterns if p.prefix), default=0) + 2,
        )
        self.match_word = lru_cache(maxsize=8192)(self._match_word)

    @classmethod
    def from_file(cls, path: Path = PHRASES_FILE) -> CrisisReader:
        try:
            with path.open(encoding="utf-8") as fp:
                data = yaml.safe_load(fp)
        except (OSError, yaml.YAMLError) as exc:
            raise PhraseError(f"{path}: {exc}") from exc
        if not isinstance(data, dict):
            raise PhraseError(f"{path}: expected a mapping at the top")
        return cls(data)

    # -- building

    def _add_phrase(
        self, section: str, kind: CrisisKind | None, language: str, source: str
    ) -> None:
        parts = []
        for raw in source.split():
            prefix = raw.endswith("*")
            skeleton = words(raw.rstrip("*"))
            if not skeleton:
                raise PhraseError(f"phrases.yaml: {section}/{language}: bad word in {source!r}")
            # "б'ють" stays one word; "зорлық-зомбылық" becomes two, as it does in a message
            parts.extend(self._pattern_id(_Pattern(w, False)) for w in skeleton[:-1])
            parts.append(self._pattern_id(_Pattern(skeleton[-1], prefix)))
        if not parts:
            raise PhraseError(f"phrases.yaml: {section}/{language}: an empty phrase")
        first = self._patterns[parts[0]]
        negated = not first.prefix and first.text in self._negators
        self._phrases.append(_Phrase(kind, section, language, source, tuple(parts), negated))

    def _pattern_id(self, pattern: _Pattern) -> int:
        if pattern not in self._pattern_ids:
            self._pattern_ids[pattern] = len(self._patterns)
            self._patterns.append(pattern)
        return self._pattern_ids[pattern]

    # -- matching

    def _match_word(self, word: str) -> frozenset[int]:
        found: set[int] = set(self._exact.get(word, ()))
        for length in self._prefix_lengths:
            if length > len(word):
                break
            found.update(self._prefix.get(word[:length], ()))
        if len(word) >= FUZZY_MIN - 1:
            for key in (word, *_deletions(word)):
                for pid in self._fuzzy_exact.get(key, ()):
                    if _within_one(word, self._patterns[pid].text):
                        found.add(pid)
            for length in self._fuzzy_lengths:
                if length > len(word):
                    break
                head = word[:length]
                for key in (head, *_deletions(head)):
                    for pid in self._fuzzy_prefix.get(key, ()):
                        if _within_one(head, self._patterns[pid].text):
                            found.add(pid)
        return frozenset(found)

    def explain(self, text: str) -> list[Hit]:
        """Every phrase found in the text, in order of appearance (for review and tests)."""
        found = words(text)
        matched = [self.match_word(w) for w in found]
        hits: list[Hit] = []
        for start, ids in enumerate(matched):
            for pid in ids:
                for phrase in self._by_first.get(pid, ()):
                    hit = Hit(phrase.kind, phrase.section, phrase.language, phrase.source)
                    if hit not in hits and self._phrase_at(phrase, found, matched, start):
                        hits.append(hit)
        return hits

    def _phrase_at(
        self, phrase: _Phrase, found: Sequence[str], matched: Sequence[frozenset[int]], start: int
    ) -> bool:
        if not phrase.negated_start and start and found[start - 1] in self._negators:
            return False
        position = start
        for step, pid in enumerate(phrase.parts[1:]):
            gap = 0 if step == 0 and phrase.negated_start else MAX_GAP
            for nxt in range(position + 1, min(position + 2 + gap, len(found))):
                if pid in matched[nxt]:
                    position = nxt
                    break
                if found[nxt] in self._negators:
                    return False
            else:
                return False
        return True

    def detect_all(self, text: str) -> list[CrisisKind]:
        """Every kind of crisis the text speaks of, most urgent first."""
        hits = self.explain(text)
        sections = {h.section for h in hits}
        topic_counts = "not_now" not in sections or "urgent" in sections
        kinds = {
            h.kind
            for h in hits
            if h.kind is not None
            and (h.section == "now" or (h.section == "topic" and topic_counts))
        }
        return [kind for kind in CrisisKind if kind in kinds]

    def detect(self, text: str) -> CrisisKind | None:
        """The most urgent kind of crisis in the text, or None."""
        kinds = self.detect_all(text)
        return kinds[0] if kinds else None


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PhraseError(f"phrases.yaml: {where} must be a list of phrases")
    return value


def _entries(data: Mapping[str, object]) -> Iterable[tuple[str, CrisisKind | None, str, str]]:
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
        for source in _strings(value[language], f"{where}/{language}"):
            yield section, kind, language, source


@cache
def reader() -> CrisisReader:
    """The reader for content/crisis/phrases.yaml, built once per process."""
    return CrisisReader.from_file()


def detect(text: str) -> CrisisKind | None:
    """The most urgent kind of crisis a client's message speaks of, or None."""
    return reader().detect(text)


def explain(text: str) -> list[Hit]:
    """The phrases of phrases.yaml found in a message (for reviewers; never logged)."""
    return reader().explain(text)
