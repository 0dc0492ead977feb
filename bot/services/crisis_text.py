"""A message's "skeleton" for crisis phrases, and the one-typo rule for their words.

Text and phrases are reduced alike: lower case, ё/й/є/і/ї and the Kazakh letters folded to
plain Russian ones, ь/ъ and apostrophes dropped, doubled letters collapsed, Latin look-alikes
inside Cyrillic words (and vice versa) replaced (bot/services/crisis.py explains why).
"""

from __future__ import annotations

import re

# Telegram caps a message at 4,096 characters; a pasted wall of text is cut, not refused.
MAX_INPUT = 4096
# Shorter words would forgive too much ("dying" is one typo away from "doing").
FUZZY_MIN = 6

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


def within_one(a: str, b: str) -> bool:
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


def deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}
