"""The Kazakh catalog is reviewed: nothing fuzzy, markup kept, glossary rules held.

See locales/kk/GLOSSARY.md (terms, address rule) and locales/kk/REVIEW.md (back-translations).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR

KK_PO = LOCALES_DIR / "kk" / "LC_MESSAGES" / "messages.po"
KK_CONTENT = LOCALES_DIR.parent / "content" / "kk"

# Staff-only msgids that may stay fuzzy, each explained in locales/kk/REVIEW.md. Empty: every
# entry has been reviewed. A client-facing msgid must never be added here.
STAFF_ONLY_FUZZY: frozenset[str] = frozenset()

# Stigmatising labels for people who use drugs (GLOSSARY.md, "Never use"; the same stems as the
# STIGMA lists of test_content/test_ready_posts, plus Kazakh ones). Matched as word stems,
# case-insensitively, so inflected forms (нашақорлар, наркомандар...) are caught too.
STIGMATISING = ("нашақор", "есірткіқұмар", "нарком", "нарик", "наркош", "торч", "маскүнем")

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
COMMAND = re.compile(r"(?<![\w/:.])/[a-z][a-z_]*")


def kk_messages() -> list:
    with KK_PO.open("rb") as fp:
        catalog = read_po(fp, locale="kk")
    return [message for message in catalog if message.id]


def forms(value: str | tuple | list) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def emoji(text: str) -> Counter:
    return Counter(ch for ch in text if unicodedata.category(ch) == "So")


def label(message) -> str:  # type: ignore[no-untyped-def]
    return forms(message.id)[0][:60]


def test_no_fuzzy_entry_left() -> None:
    fuzzy = [forms(m.id)[0] for m in kk_messages() if m.fuzzy]
    unexplained = [msgid for msgid in fuzzy if msgid not in STAFF_ONLY_FUZZY]
    assert not unexplained, f"fuzzy kk entries: {unexplained}"


@pytest.mark.parametrize("check", ["placeholders", "tags", "commands", "emoji", "line breaks"])
def test_translations_keep_the_markup_of_the_msgid(check: str) -> None:
    extract = {
        "placeholders": lambda text: Counter(PLACEHOLDER.findall(text)),
        "tags": lambda text: Counter(TAG.findall(text)),
        "commands": lambda text: set(COMMAND.findall(text)),
        "emoji": emoji,
        "line breaks": lambda text: text.count("\n"),
    }[check]
    wrong = []
    for message in kk_messages():
        ids = forms(message.id)
        for string in forms(message.string):
            expected = [extract(msgid) for msgid in ids]
            # A plural form may drop the number ("1 story" -> "story"), never add or change one.
            if check == "placeholders" and len(ids) > 1:
                ok = set(extract(string)) <= set(expected[0]) | set(expected[1])
            else:
                ok = extract(string) in expected
            if not ok:
                wrong.append((label(message), string[:60]))
    assert not wrong, f"{check} differ from the msgid: {wrong}"


def test_no_stigmatising_terms_in_kazakh_texts() -> None:
    texts = {f"po: {label(m)}": " ".join(forms(m.string)) for m in kk_messages()}
    for path in sorted(Path(KK_CONTENT).rglob("*")):
        if path.is_file() and path.suffix in {".yaml", ".yml", ".md", ".txt"}:
            texts[str(path.relative_to(KK_CONTENT.parent))] = path.read_text(encoding="utf-8")
    found = [
        (where, term)
        for where, text in texts.items()
        for term in STIGMATISING
        if term in text.lower()
    ]
    assert not found, f"stigmatising terms (see locales/kk/GLOSSARY.md): {found}"


def test_catalog_follows_the_glossary() -> None:
    """anonymous = жасырын; рақмет; the polite pronoun is capitalised only sentence-initially."""
    wrong = []
    for message in kk_messages():
        for string in forms(message.string):
            if re.search(r"аноним", string, re.IGNORECASE):
                wrong.append(("анонимді -> жасырын", label(message)))
            if re.search(r"рахмет", string, re.IGNORECASE):
                wrong.append(("рахмет -> рақмет", label(message)))
            for match in re.finditer(r"(?<![^\W\d_])Сіз", string):
                before = re.sub(r"<[^>]+>", "", re.split(r"[.!?\n…•]", string[: match.start()])[-1])
                if re.search(r"[^\W_]", before):
                    wrong.append(("Сіз mid-sentence -> сіз", label(message)))
    assert not wrong, wrong
