"""A staff member's display name: what clients see, so it must read as a person's name.

A name that looks like the bot, the organisation or a system notice would let a volunteer (or
someone who got an invite) impersonate them (shared/SECURITY.md, "someone impersonates a
consultant"); every way in — the CLI, an invite, /name — checks it here.
"""

from __future__ import annotations

import unicodedata

from bot.services.staff import StaffError

NAME_MAX = 40

# Words that would make a name read as the bot, the organisation or a system notice. Checked
# on each word with look-alike letters folded (Cyrillic "о" for Latin "o" and back) and with
# everything but letters removed, so "P.e.e.r-line" or "Аdmin" with a Cyrillic A do not pass.
_RESERVED = (
    "peerline",
    "admin",
    "support",
    "system",
    "модератор",
    "администратор",
    "админ",
    "служба",
    "поддержк",  # ru: support
    "підтримк",  # uk: support
    "систем",  # ru/uk: system
)
# "bot" only at the end of a word ("HelpBot", "support bot", "Бот"): Kazakh names such as
# Botagoz and Bota start with it.
_RESERVED_SUFFIXES = ("bot", "бот")
_LINK_PARTS = ("http", "www.", "t.me", "://")
# Punctuation a person's name may contain; anything else (<, >, @, /, #, markdown) is refused.
_NAME_PUNCTUATION = frozenset(" .,-'’()")
_ZWJ, _VS16 = "\u200d", "\ufe0f"  # inside emoji sequences such as the health worker emoji

# Cyrillic and Greek letters that look Latin (only for the check; the name is kept as given).
_TO_LATIN = str.maketrans(
    "АВЕКМНОРСТХУЅІЈаеорсхуіјѕһԁΑΒΕΗΙΚΜΝΟΡΤΧΥΖαοιρν",
    "ABEKMHOPCTXYSIJaeopcxyijshdABEHIKMNOPTXYZaoipv",
)
_LAT_TO_CYR = str.maketrans("ABEKMHOPCTXYaeopcxy", "АВЕКМНОРСТХУаеорсху")


def _letters_only(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch).startswith("L"))


def validate_display_name(name: str) -> str:
    """The name as it will be stored (whitespace collapsed), or StaffError saying why not."""
    name = unicodedata.normalize("NFC", " ".join(str(name).split()))
    if not name:
        raise StaffError("the display name is empty")
    if len(name) > NAME_MAX:
        raise StaffError(f"the display name is longer than {NAME_MAX} characters")
    for ch in name:
        category = unicodedata.category(ch)
        if ch in (_ZWJ, _VS16) or category[0] in "LMN" or category == "So":
            continue
        if ch in _NAME_PUNCTUATION:
            continue
        raise StaffError(
            f"the display name may not contain {ch!r}: use letters, digits, spaces, "
            "emoji and . , - ' ( )"
        )
    if not unicodedata.category(name[0]).startswith("L"):
        # Notices start with an icon ("⚠️ ...", "✅ ..."); a person's name starts with a letter.
        raise StaffError("the display name must start with a letter")
    folded = unicodedata.normalize("NFKC", name)
    variants = {
        folded.translate(_TO_LATIN).casefold(),
        folded.translate(_LAT_TO_CYR).casefold(),
    }
    for variant in variants:
        if any(part in variant for part in _LINK_PARTS):
            raise StaffError("the display name may not contain a link")
        # Letters only within each word: "P.e.e.r-line" is caught, while "Asad Mina" is not
        # taken for "admin".
        words = [_letters_only(word) for word in variant.split()]
        for reserved in _RESERVED:
            if any(reserved in word for word in words):
                raise StaffError(
                    f"the display name may not contain {reserved!r}: clients could take it "
                    "for the bot or a system message"
                )
        for suffix in _RESERVED_SUFFIXES:
            if any(word.endswith(suffix) for word in words):
                raise StaffError(
                    f"the display name may not end a word in {suffix!r}: clients could take "
                    "it for a bot"
                )
    return name
