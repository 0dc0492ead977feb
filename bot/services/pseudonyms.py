"""Client pseudonyms: a random, language-neutral code, shown to staff as a memorable name.

A consultant holding three conversations must not mix up "Client 856390" and "Client 826356"
(issue 10). So a client is stored as a code such as "a07n12-42" (adjective 7, animal 12,
number 42) and each consultant reads it in their own language: "Quiet Dolphin 42",
"Тихий Дельфин 42", "Тихий Дельфін 42", "Тыныш Дельфин 42".

- The code is drawn at random (`secrets`), never derived from who the client is.
- `Client.pseudonym` is unique, so two clients never share a code; and each language's words
  are distinct, so two codes never read alike in one language. Across languages a word is
  allowed to repeat only for the same meaning ("Тихий" is ru and uk for "quiet"), so a name
  typed in any language leads back to exactly one code (`from_text`).
- Russian and Ukrainian animals are masculine nouns, so the adjective agrees.
- Clients named before this (six digits) keep their number: `render` shows it unchanged.
"""

from __future__ import annotations

import re
import secrets

from bot.i18n import Translator

# One row per meaning: en, ru, uk, kk. No drug or police slang, nothing offensive.
ADJECTIVES: tuple[tuple[str, str, str, str], ...] = (
    ("Blue", "Синий", "Синій", "Көк"),
    ("Red", "Красный", "Червоний", "Қызыл"),
    ("Silver", "Серебряный", "Срібний", "Күміс"),
    ("Quiet", "Тихий", "Тихий", "Тыныш"),
    ("Brave", "Смелый", "Сміливий", "Батыл"),
    ("Kind", "Добрый", "Добрий", "Мейірімді"),
    ("Wise", "Мудрый", "Мудрий", "Дана"),
    ("Sunny", "Солнечный", "Сонячний", "Шуақты"),
    ("Bright", "Яркий", "Яскравий", "Жарқын"),
    ("Gentle", "Нежный", "Ніжний", "Нәзік"),
    ("Warm", "Тёплый", "Теплий", "Жылы"),
    ("Northern", "Северный", "Північний", "Солтүстік"),
    ("Southern", "Южный", "Південний", "Оңтүстік"),
    ("Mountain", "Горный", "Гірський", "Таулы"),
    ("Steppe", "Степной", "Степовий", "Далалық"),
    ("Happy", "Счастливый", "Щасливий", "Бақытты"),
    ("Strong", "Сильный", "Сильний", "Күшті"),
    ("Young", "Молодой", "Молодий", "Жас"),
    ("Starry", "Звёздный", "Зоряний", "Жұлдызды"),
    ("Honest", "Честный", "Чесний", "Адал"),
    ("Spring", "Весенний", "Весняний", "Көктемгі"),
    ("Autumn", "Осенний", "Осінній", "Күзгі"),
    ("Morning", "Утренний", "Ранковий", "Таңғы"),
    ("Violet", "Фиолетовый", "Фіолетовий", "Күлгін"),
)
ANIMALS: tuple[tuple[str, str, str, str], ...] = (
    ("Fox", "Лис", "Лис", "Түлкі"),
    ("Bear", "Медведь", "Ведмідь", "Аю"),
    ("Hare", "Заяц", "Заєць", "Қоян"),
    ("Hedgehog", "Ёж", "Їжак", "Кірпі"),
    ("Eagle", "Орёл", "Орел", "Бүркіт"),
    ("Falcon", "Сокол", "Сокіл", "Сұңқар"),
    ("Swan", "Лебедь", "Лебідь", "Аққу"),
    ("Beaver", "Бобр", "Бобер", "Құндыз"),
    ("Badger", "Барсук", "Борсук", "Борсық"),
    ("Dolphin", "Дельфин", "Дельфін", "Дельфин"),
    ("Deer", "Олень", "Олень", "Бұғы"),
    ("Elk", "Лось", "Лось", "Бұлан"),
    ("Leopard", "Барс", "Барс", "Барыс"),
    ("Tiger", "Тигр", "Тигр", "Жолбарыс"),
    ("Lion", "Лев", "Лев", "Арыстан"),
    ("Crane", "Журавль", "Журавель", "Тырна"),
    ("Starling", "Скворец", "Шпак", "Қараторғай"),
    ("Sparrow", "Воробей", "Горобець", "Торғай"),
    ("Nightingale", "Соловей", "Соловей", "Бұлбұл"),
    ("Whale", "Кит", "Кит", "Кит"),
    ("Penguin", "Пингвин", "Пінгвін", "Пингвин"),
    ("Camel", "Верблюд", "Верблюд", "Түйе"),
    ("Owl", "Филин", "Пугач", "Үкі"),
    ("Lark", "Жаворонок", "Жайворонок", "Бозторғай"),
)
LANGUAGES = ("en", "ru", "uk", "kk")
# Two digits first; three once two-digit codes grow scarce (see `draw`).
NUMBERS = range(10, 100)
MORE_NUMBERS = range(100, 1000)

EXAMPLE = "a00n00-42"  # "Blue Fox 42", for usage texts
CODE = re.compile(r"a(\d{2})n(\d{2})-(\d{2,3})")
LEGACY = re.compile(r"\d{6}")
# A typed name: words, then the number ("Blue Fox 42", "#42" allowed).
_TYPED = re.compile(r"(.+?)\s*#?(\d{2,3})")


def code(adjective: int, animal: int, number: int) -> str:
    return f"a{adjective:02d}n{animal:02d}-{number}"


def draw(attempt: int = 0) -> str:
    """A random code (never derived from the client). Later attempts (after collisions)
    draw from the larger three-digit range."""
    numbers = NUMBERS if attempt < 8 else MORE_NUMBERS
    return code(
        secrets.randbelow(len(ADJECTIVES)),
        secrets.randbelow(len(ANIMALS)),
        numbers.start + secrets.randbelow(len(numbers)),
    )


def render(pseudonym: str, language: str) -> str:
    """The name a member of staff reads: "Blue Fox 42" in their language; an older
    six-digit pseudonym, or anything unknown, as it is."""
    match = CODE.fullmatch(pseudonym)
    if match is None:
        return pseudonym
    adjective, animal, number = (int(part) for part in match.groups())
    if adjective >= len(ADJECTIVES) or animal >= len(ANIMALS):
        return pseudonym
    column = LANGUAGES.index(language) if language in LANGUAGES else 0
    return f"{ADJECTIVES[adjective][column]} {ANIMALS[animal][column]} {number}"


def is_word_based(pseudonym: str | None) -> bool:
    return pseudonym is not None and CODE.fullmatch(pseudonym) is not None


def _fold(text: str) -> str:
    """Case, "ё" and spacing do not matter when a name is typed."""
    return " ".join(text.casefold().replace("ё", "е").split())


def _index(table: tuple[tuple[str, str, str, str], ...]) -> dict[str, int]:
    words: dict[str, int] = {}
    for number, row in enumerate(table):
        for word in row:
            if words.setdefault(_fold(word), number) != number:
                raise ValueError(f"{word!r} means two things")
    return words


_ADJECTIVE_INDEX = _index(ADJECTIVES)
_ANIMAL_INDEX = _index(ANIMALS)


def from_text(text: str) -> str | None:
    """The pseudonym a member of staff typed: a name in any of the four languages (any
    case), the code itself, or an older six-digit number ("Client 482113", "#482113").
    None if it is none of these."""
    folded = _fold(text).lstrip("#")
    if CODE.fullmatch(folded):
        return folded
    typed = _TYPED.fullmatch(folded)
    if typed is not None:
        words = typed.group(1).split()
        if len(words) == 2 and words[0] in _ADJECTIVE_INDEX and words[1] in _ANIMAL_INDEX:
            return code(_ADJECTIVE_INDEX[words[0]], _ANIMAL_INDEX[words[1]], int(typed.group(2)))
    digits = "".join(ch for ch in folded if "0" <= ch <= "9")
    return digits if LEGACY.fullmatch(digits) else None


def display(_: Translator, pseudonym: str | None) -> str:
    """What staff read: "Blue Fox 42" in their language; a client named before word
    pseudonyms keeps "Client 482113"."""
    if pseudonym is not None and is_word_based(pseudonym):
        return render(pseudonym, _.language)
    return _.gettext("Client %(pseudonym)s", pseudonym=pseudonym or "?")
