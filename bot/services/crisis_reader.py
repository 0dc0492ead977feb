"""Finding crisis phrases in a message: the compiled phrases, and `detect` / `explain`.

How a phrase matches (bot/services/crisis.py has the whole rule): each word of the message is
matched once against every phrase word (exactly, as a `word*` stem, or with one typo for danger
words of 6+ letters) and cached; a phrase then needs its words in order, with at most one extra
word between two of them and never a negation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from bot.services.crisis import (
    PHRASES_FILE,
    CrisisKind,
    Hit,
    PhraseError,
    entries,
    read_phrases,
    strings,
)
from bot.services.crisis_text import FUZZY_MIN, deletions, within_one, words

MAX_GAP = 1  # extra words allowed between two words of a phrase


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
        self._negators = frozenset(words(" ".join(strings(data.get("negators"), "negators"))))
        self._phrases: list[_Phrase] = []
        for section, kind, language, source in entries(data):
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
                for key in {pattern.text, *deletions(pattern.text)}:
                    index.setdefault(key, set()).add(pid)
        self._prefix_lengths = sorted({len(p.text) for p in self._patterns if p.prefix})
        self._fuzzy_lengths = range(
            FUZZY_MIN - 1,
            max((len(p.text) for p in self._patterns if p.prefix), default=0) + 2,
        )
        self.match_word = lru_cache(maxsize=8192)(self._match_word)

    @classmethod
    def from_file(cls, path: Path = PHRASES_FILE) -> CrisisReader:
        return cls(read_phrases(path))

    # -- building

    def _add_phrase(
        self, section: str, kind: CrisisKind | None, language: str, source: str
    ) -> None:
        parts: list[int] = []
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
            for key in (word, *deletions(word)):
                for pid in self._fuzzy_exact.get(key, ()):
                    if within_one(word, self._patterns[pid].text):
                        found.add(pid)
            for length in self._fuzzy_lengths:
                if length > len(word):
                    break
                head = word[:length]
                for key in (head, *deletions(head)):
                    for pid in self._fuzzy_prefix.get(key, ()):
                        if within_one(head, self._patterns[pid].text):
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
