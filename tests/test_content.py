"""The content files are complete, well-formed, short enough and respectful, in every language."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from bot.config import LANGUAGES
from bot.services.content import COUNTRIES, Content

CONTENT = Content()
ALLOWED_TAGS = {"b", "i", "u", "a", "code"}
# Stigmatising words we never use about people (shared/CONTENT.md, glossary).
STIGMA = re.compile(
    r"\b(addicts?|junkies?|junkie|drug abusers?|наркоман\w*|нарики?|торчк\w*|"
    r"вич-инфицированн\w*|жертв\w* спида|есірткіқұмар\w*)\b",
    re.IGNORECASE,
)


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
        if tag == "a" and not any(k == "href" and v and v.startswith("http") for k, v in attrs):
            self.problems.append("<a> without an http(s) href")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")


def _screens():
    for language in LANGUAGES:
        for node_id in CONTENT.nodes:
            for country in COUNTRIES:
                yield language, node_id, country


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_node_has_a_button_and_text_in_every_language(language: str) -> None:
    for node_id in CONTENT.nodes:
        assert CONTENT.button(node_id, language), f"{language}/{node_id}: no button"
        for country in COUNTRIES:
            assert CONTENT.screen(node_id, language, country).text, f"{language}/{node_id}"


def test_screens_are_valid_telegram_html_and_short() -> None:
    for language, node_id, country in _screens():
        screen = CONTENT.screen(node_id, language, country)
        where = f"{language}/{node_id}/{country}"
        checker = _TagChecker()
        checker.feed(screen.text)
        checker.close()
        assert not checker.problems, f"{where}: {checker.problems}"
        assert not checker.stack, f"{where}: unclosed {checker.stack}"
        assert "{" not in screen.text and "}" not in screen.text, f"{where}: a stray brace"
        assert len(screen.text) <= 1500, f"{where}: {len(screen.text)} characters"
        assert re.search(r"&(?!amp;|lt;|gt;|quot;|#)", screen.text) is None, f"{where}: bare &"


def test_buttons_fit_on_a_phone() -> None:
    for language in LANGUAGES:
        for node_id in CONTENT.nodes:
            assert len(CONTENT.button(node_id, language)) <= 40, f"{language}/{node_id}"


def test_no_stigmatising_words() -> None:
    for language, node_id, country in _screens():
        text = CONTENT.screen(node_id, language, country).text
        found = STIGMA.search(text)
        assert found is None, f"{language}/{node_id}/{country}: {found.group(0)!r}"


def test_texts_are_translated_not_copied_from_english() -> None:
    for language in ("ru", "uk", "kk"):
        for node_id in CONTENT.nodes:
            ours = CONTENT.screen(node_id, language, "other").text
            english = CONTENT.screen(node_id, "en", "other").text
            assert ours != english, f"{language}/{node_id} is the English text"


def test_medical_and_legal_screens_cite_sources() -> None:
    cited = {
        node_id for node_id, node in CONTENT.nodes.items() if node.kind == "text" and node.sources
    }
    for prefix in ("od_", "ost_", "hiv_", "tb_", "hep_", "legal_"):
        nodes = [
            n for n, node in CONTENT.nodes.items() if n.startswith(prefix) and node.kind == "text"
        ]
        assert nodes, f"no {prefix} screens"
        uncited = [n for n in nodes if n not in cited]
        assert not uncited, f"screens without sources: {uncited}"
    for node in CONTENT.nodes.values():
        for urls in node.sources.values():
            assert all(url.startswith(("http://", "https://")) for url in urls), node.id


def test_overdose_is_first_and_names_the_countrys_numbers() -> None:
    assert CONTENT.nodes[CONTENT.root].children[0] == "overdose"
    for language in LANGUAGES:
        text = CONTENT.screen("overdose", language, "KZ").text
        assert "103" in text and "112" in text, language


def test_russia_gets_no_ost_how_to() -> None:
    """In Russia OST is banned: the Russian-country text must say it is not available."""
    for language in LANGUAGES:
        ru = CONTENT.screen("ost_access", language, "RU").text
        assert ru != CONTENT.screen("ost_access", language, "UA").text, language


def test_every_ask_a_consultant_topic_is_one_the_queue_knows() -> None:
    from bot.services.queue import TOPICS

    for node in CONTENT.nodes.values():
        assert node.consult is None or node.consult in TOPICS, node.id
