"""A client in Russia sees first aid, rights and referral only: no risky term or banned site.

The list of risky terms and domains is data, kept in content/law/ru_forbidden.yaml, so an
organisation and its lawyer can extend it without touching code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config import LANGUAGES
from bot.services.content import CONTENT_DIR, Content
from bot.services.ready_posts import POSTS_DIR, load_ready_posts

CONTENT = Content()
FORBIDDEN = yaml.safe_load((CONTENT_DIR / "law" / "ru_forbidden.yaml").read_text("utf-8"))
PLACES = [str(item).lower() for item in FORBIDDEN["places"]]
RISKY = [str(i).lower() for i in (*FORBIDDEN["domains"], *FORBIDDEN["terms"])] + PLACES

# Every screen is checked, the overdose section included.
SKIPPED: set[str] = set()


def _visible_in_russia(node_id: str) -> bool:
    """A client in Russia can reach the node: it and every menu above it are shown there."""
    node = CONTENT.nodes[node_id]
    while node is not None:
        if not node.visible_in("RU"):
            return False
        node = CONTENT.nodes.get(node.parent) if node.parent else None
    return True


def _hits(text: str) -> list[str]:
    lowered = text.lower()
    return [item for item in RISKY if item in lowered]


def _russian_screens() -> list[tuple[str, str]]:
    return [
        (language, node_id)
        for language in LANGUAGES
        for node_id in CONTENT.nodes
        if node_id not in SKIPPED and _visible_in_russia(node_id)
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_screen_a_client_in_russia_sees_has_a_risky_term_or_site(language: str) -> None:
    found = []
    for lang, node_id in _russian_screens():
        if lang != language:
            continue
        screen = CONTENT.screen(node_id, language, "RU")
        rendered = "\n".join((CONTENT.button(node_id, language), screen.text, *screen.sources))
        found += [f"{language}/{node_id}: {hit!r}" for hit in _hits(rendered)]
    assert not found, "\n".join(found)


def test_ost_is_not_offered_in_russia() -> None:
    """3-FZ Art. 46: no OST screen at all for clients in Russia (no neutral framing is safe)."""
    assert not _visible_in_russia("ost")
    assert not [n for n in CONTENT.nodes if n.startswith("ost_") and _visible_in_russia(n)]


def test_injecting_advice_is_not_offered_in_russia() -> None:
    """Safer-injecting and wound-care advice reads as "propaganda" in Russia: hidden there."""
    assert not _visible_in_russia("safe_inject")
    assert _visible_in_russia("srh") and _visible_in_russia("violence")


def test_the_forbidden_list_is_well_formed() -> None:
    assert FORBIDDEN["domains"] and FORBIDDEN["terms"] and FORBIDDEN["places"]
    assert all(isinstance(item, str) and item.strip() for item in RISKY)


def test_ready_posts_have_no_where_field_or_buying_terms() -> None:
    """Posts go to channels read in Russia in every language: no "where" field, no buying.

    Only the "places" list is checked here: the overdose posts still cite foreign first-aid
    pages and name methadone in first aid, which the crisis engineer reviews with the overdose
    screens.
    """
    found = []
    for post in load_ready_posts(POSTS_DIR):
        for language, text in post.text.items():
            lowered = text.lower()
            found += [f"{post.slug}/{language}: {t!r}" for t in PLACES if t in lowered]
    assert not found, "\n".join(found)


def test_the_law_file_lives_with_the_content() -> None:
    assert Path(CONTENT_DIR / "law" / "ru_forbidden.yaml").is_file()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_help_names_no_ost_for_a_client_in_russia(harness, language: str) -> None:
    """/help (and an unknown command) list OST everywhere except in Russia."""
    from tests.harness import FakeUser
    from tests.test_client_journey import onboard

    ost = {"ru": "заместительн", "uk": "замісн", "kk": "алмастыру", "en": "substitution"}[language]
    in_russia, in_ukraine = FakeUser(id=9101, language_code=language), FakeUser(id=9102)
    await onboard(harness, in_russia, language, "RU")
    await onboard(harness, in_ukraine, language, "UA")
    for command in ("/help", "/nosuchcommand"):
        russia = (await harness.send(in_russia, command)).text
        assert ost not in russia.lower() and "/menu" in russia
        assert ost in (await harness.send(in_ukraine, command)).text.lower()
