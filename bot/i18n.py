"""UI strings through gettext (Babel). Catalogs live in locales/<lang>/LC_MESSAGES/messages.po.

The `.mo` files are build output and not committed: a fresh `.mo` (from `pybabel compile`, as
the Dockerfile does) is used when present, otherwise the `.po` is compiled in memory at start,
so a checkout runs without a build step.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from bot.config import LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"

# Telegram's language_code -> our language, only to *suggest* one on the first /start.
_SUGGEST = {"ru": "ru", "be": "ru", "uk": "uk", "kk": "kk", "en": "en"}


def N_(message: str) -> str:
    """Mark a module-level string for extraction; translate it at call time."""
    return message


@dataclass(frozen=True)
class Translator:
    """gettext for one language, with named placeholders: `_("%(n)s left", n=3)`."""

    language: str
    _translations: Translations

    def gettext(self, message: str, **values: object) -> str:
        text = self._translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self._translations.ngettext(singular, plural, n)
        return text % {"n": n, **values}


def _load(language: str, locales_dir: Path) -> Translations:
    po = locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=language)
    buffer = io.BytesIO()
    # Fuzzy entries are kept: they are our "needs a native reviewer" marks (Kazakh especially),
    # and a reviewed-later translation serves a reader better than the English original.
    write_mo(buffer, catalog, use_fuzzy=True)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


class I18n:
    """All four catalogs, loaded once at start-up."""

    def __init__(self, default: str, locales_dir: Path = LOCALES_DIR) -> None:
        self.default = default
        self._translators: dict[str, Translator] = {
            lang: Translator(lang, _load(lang, locales_dir)) for lang in LANGUAGES
        }

    def get(self, language: str | None) -> Translator:
        return self._translators.get(language or self.default, self._translators[self.default])

    def suggest(self, telegram_language_code: str | None) -> str:
        """Our language closest to Telegram's language_code (never stored)."""
        code = (telegram_language_code or "").split("-")[0].lower()
        return _SUGGEST.get(code, self.default)
