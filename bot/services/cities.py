"""Known cities (content/cities.yaml) and recognising a city name a client typed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import yaml

from bot.languages import LANGUAGES

CITIES_FILE = Path(__file__).resolve().parents[2] / "content" / "cities.yaml"
COUNTRIES = ("RU", "UA", "KZ")
MAX_MATCHES = 5
# The longest known name is ~20 letters; anything much longer is not a city name, and
# refusing it up front keeps a pasted wall of text from costing fuzzy comparisons.
MAX_INPUT = 80
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")  # must fit the "city" callback_data schema

# Russian, Ukrainian and Kazakh letters to Latin, roughly BGN/PCGN; ё is е on purpose.
# fmt: off
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e", "є": "ye",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh",
    "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e",
    "ю": "yu", "я": "ya",
    # Kazakh letters, and the dotless ı of the Kazakh Latin alphabet
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "ı": "i",
}
# fmt: on

# Transliteration systems spell some sounds differently (sh/ш, kh/х, y/и/і, Ukrainian г as h):
# each collapses to one letter, so "Chernihiv", "Чернігів" and "Chernigiv" meet exactly.
_SOUNDS = (("shch", "w"), ("sh", "w"), ("ch", "c"), ("zh", "j"), ("kh", "x"), ("ts", "c"))
_SOUNDS_1 = str.maketrans({"y": "i", "h": "g", "q": "k"})
_AFFIXES = re.compile(
    r"^(?:(?:г|гор|м|g|m)\.\s*|(?:город|місто|г|м|city of)\s+)|\s+(?:қаласы|қ\.|city)$"
)


@dataclass(frozen=True)
class City:
    key: str
    country: str
    rank: int  # 1 = the largest city of its country (order in cities.yaml)
    names: Mapping[str, str] = field(compare=False, repr=False)
    aliases: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["en"]


def transliterate(text: str) -> str:
    """Readable lower-case Latin for Cyrillic (ru, uk, kk) text; other letters kept."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(_CYRILLIC.get(ch, ch) for ch in text)


def _skeleton(text: str) -> str:
    """One Latin form for every spelling of a name: the unit that typos are counted in."""
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = _AFFIXES.sub("", text)
    latin = unicodedata.normalize("NFKD", transliterate(text))
    latin = "".join(ch for ch in latin if "a" <= ch <= "z")  # drops accents, spaces, hyphens
    for sound, letter in _SOUNDS:
        latin = latin.replace(sound, letter)
    return re.sub(r"(.)\1+", r"\1", latin.translate(_SOUNDS_1))


def _distance(a: str, b: str, limit: int) -> int:
    """Edit distance with swapped neighbours counting as one typo; > limit is cut short."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


class CityIndex:
    """All known cities, with every spelling reduced to its skeleton once, at load."""

    def __init__(self, cities: Iterable[City]) -> None:
        self._cities = {city.key: city for city in cities}
        self._spellings: list[tuple[str, City]] = []
        for city in self._cities.values():
            spellings = {city.key.replace("_", " "), *city.names.values(), *city.aliases}
            skeletons = {_skeleton(s) for s in spellings} - {""}
            self._spellings += [(s, city) for s in sorted(skeletons)]

    def __iter__(self) -> Iterator[City]:
        return iter(self._cities.values())

    def get(self, key: str) -> City | None:
        return self._cities.get(key)

    def name(self, key: str, language: str) -> str:
        """The city's name in a language; an unknown key (e.g. removed from the file) as is."""
        city = self._cities.get(key)
        return city.name(language) if city else key

    def in_country(self, country: str | None) -> list[City]:
        """Cities of a country, largest first; none for "other"."""
        return sorted((c for c in self._cities.values() if c.country == country), key=_by_rank)

    def match(self, text: str, country: str | None) -> list[City]:
        """Cities a typed name may mean, best first, at most five.

        A client in RU, UA or KZ is offered only their own country's cities: the directory
        shows services of the client's country, so a city elsewhere would only hide them, and
        a near-miss abroad is wrong ("Ніжин" is not "Нижній Новгород" for someone in Ukraine).
        Clients elsewhere ("other"/None) may pick any known city.
        An exact spelling wins outright (only exact matches are returned, so the caller can
        take a single one without asking); otherwise name prefixes come before typos.
        """
        if len(text) > MAX_INPUT:
            return []
        typed = _skeleton(text)
        if len(typed) < 2:
            return []
        best: dict[str, tuple[int, int]] = {}  # key -> (kind: 0 exact, 1 prefix, 2 typo; typos)
        for spelling, city in self._spellings:
            if country in COUNTRIES and city.country != country:
                continue
            if spelling == typed:
                found = (0, 0)
            elif len(typed) >= 3 and spelling.startswith(typed):
                found = (1, 0)
            elif len(typed) >= 3:
                allowed = 1 if len(spelling) <= 5 else 2
                typos = _distance(typed, spelling, allowed)
                if typos > allowed:
                    continue
                found = (2, typos)
            else:
                continue
            best[city.key] = min(found, best.get(city.key, found))
        if any(kind == 0 for kind, _ in best.values()):
            best = {key: found for key, found in best.items() if found[0] == 0}
        ranked = sorted(best, key=lambda key: (*best[key], _by_rank(self._cities[key])))
        return [self._cities[key] for key in ranked[:MAX_MATCHES]]

    def resolve(self, text: str, country: str | None, *, abroad: bool = False) -> City | None:
        """The city a key or an exactly spelled name means, or None.

        Only within `country` (when it is RU, UA or KZ), as for `match`; with abroad=True a
        city elsewhere is returned too, after `country`'s (the directory import uses that to
        tell an editor that a city is in another country)."""
        only = country if country in COUNTRIES and not abroad else None
        key = text.strip().lower()
        if key in self._cities:
            city = self._cities[key]
            return city if only is None or city.country == only else None
        typed = _skeleton(text)
        exact = [
            city
            for spelling, city in self._spellings
            if spelling == typed and typed and (only is None or city.country == only)
        ]
        exact.sort(key=lambda city: (city.country != country, _by_rank(city)))
        return exact[0] if exact else None


def _by_rank(city: City) -> tuple[int, str]:
    return city.rank, city.key


@lru_cache(maxsize=4)
def load_cities(path: Path | None = None) -> CityIndex:
    """Read and check content/cities.yaml (cached: the file changes only with a deploy)."""
    path = path or CITIES_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or set(data) - set(COUNTRIES):
        raise ValueError(f"{path}: top level must map {', '.join(COUNTRIES)} to lists of cities")
    cities: list[City] = []
    for country, entries in data.items():
        for rank, entry in enumerate(entries or [], 1):
            cities.append(_city(path, country, rank, entry))
    keys = [city.key for city in cities]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate city keys: {', '.join(duplicates)}")
    return CityIndex(cities)


def _city(path: Path, country: str, rank: int, entry: object) -> City:
    where = f"{path}: {country} city #{rank}"
    if not isinstance(entry, dict) or set(entry) - {"key", "names", "also"}:
        raise ValueError(f"{where}: expected key, names and optionally also")
    key, names, also = entry.get("key"), entry.get("names"), entry.get("also") or []
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"{where}: key must be lower-case latin letters, digits and _")
    if not isinstance(names, dict) or sorted(names) != sorted(LANGUAGES):
        raise ValueError(f"{where} ({key}): names needs exactly {', '.join(LANGUAGES)}")
    if not all(isinstance(s, str) and s.strip() for s in [*names.values(), *also]):
        raise ValueError(f"{where} ({key}): every name and spelling must be non-empty text")
    return City(key, country, rank, MappingProxyType(dict(names)), tuple(also))
