"""Every UI string exists in ru, uk, kk and en, with the same placeholders and real plurals."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from bot.config import LANGUAGES
from bot.i18n import LOCALES_DIR, I18n

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalog(language: str):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp, locale=language)


def template():
    with (LOCALES_DIR / "messages.pot").open("rb") as fp:
        return read_po(fp)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(language: str) -> None:
    cat = catalog(language)
    missing = []
    for message in template():
        if not message.id:
            continue
        ours = cat.get(message.id)
        strings = ours.string if ours else None
        values = strings if isinstance(strings, (list, tuple)) else [strings]
        if ours is None or not all(values):
            missing.append(message.id)
    assert not missing, f"{language}: untranslated {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_between_msgid_and_translation(language: str) -> None:
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        expected = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) <= expected, (language, message.id)
            if len(ids) == 1:
                assert set(PLACEHOLDER.findall(string)) == expected, (language, message.id)


def test_template_is_up_to_date_with_the_code() -> None:
    """`make messages` was run after the last change to UI strings."""
    from babel.messages.extract import extract_from_dir

    keywords = {"N_": None, "gettext": None, "ngettext": (1, 2)}
    found = set()
    for folder in ("bot", "handlers"):
        for _f, _l, message, _c, _ctx in extract_from_dir(
            LOCALES_DIR.parent / folder, keywords=keywords, method_map=[("**.py", "python")]
        ):
            found.add(message if isinstance(message, str) else message[0])
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in template() if m.id}
    assert found == known, f"run `make messages`: new {found - known}, gone {known - found}"


@pytest.mark.parametrize("language", ["ru", "uk"])
def test_plural_forms_follow_the_language(language: str) -> None:
    """Russian and Ukrainian have three forms: 1 and 21 share one; 2 and 5 differ."""
    _ = I18n("en").get(language)

    def form(n: int) -> str:
        return _.ngettext("%(n)s service found:", "%(n)s services found:", n).replace(str(n), "")

    assert form(1) == form(21)
    assert len({form(1), form(2), form(5)}) == 3


def test_unknown_language_falls_back_to_the_default() -> None:
    i18n = I18n("en")
    assert i18n.get("de").language == "en"
    assert i18n.suggest("uk-UA") == "uk"
    assert i18n.suggest(None) == "en"
