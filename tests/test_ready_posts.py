"""Ready-made channel posts: the shipped ones are complete and careful; broken files are refused."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from bot.config import LANGUAGES
from bot.services.content import Content, ContentError
from bot.services.ready_posts import (
    PLACEHOLDER,
    POSTS_DIR,
    TEXT_MAX,
    ReadyPost,
    load_ready_posts,
    next_date,
    upcoming,
)

CONTENT = Content()
POSTS = load_ready_posts(POSTS_DIR, node_ids=CONTENT.nodes)
BY_SLUG = {post.slug: post for post in POSTS}
# Stigmatising words we never use about people (shared CONTENT.md, glossary).
STIGMA = re.compile(
    r"addict|junkie|drug abuser|нарком|нарик|торчк|вич-инфицированн|жертв\w* спида|"
    r"есірткіқұмар",
    re.IGNORECASE,
)
# A phone number is only useful, and only true, for the countries the text names.
COUNTRIES = {
    "ru": ("Росси", "Украин", "Казахстан"),
    "uk": ("Росі", "Україн", "Казахстан"),
    "kk": ("Ресей", "Украина", "Қазақстан"),
    "en": ("Russia", "Ukraine", "Kazakhstan"),
}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: set[str] = set()
        self.words: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs.update(value for name, value in attrs if name == "href" and value)

    def handle_data(self, data: str) -> None:
        self.words.append(data)


def _parse(text: str) -> _Links:
    parser = _Links()
    parser.feed(text)
    parser.close()
    return parser


# ------------------------------------------------------------------ the shipped posts


def test_shipped_posts_load_sorted_by_slug_with_the_real_menu() -> None:
    assert len(POSTS) >= 8
    assert [post.slug for post in POSTS] == sorted(post.slug for post in POSTS)


def test_every_awareness_day_has_a_post() -> None:
    dates = {post.date: post.slug for post in POSTS if post.date}
    for day in ("06-26", "08-31", "12-01", "07-28", "03-24"):
        assert day in dates, f"no post for {day}"


def test_topic_posts_open_the_right_screen() -> None:
    assert BY_SLUG["opioid_overdose"].button == "overdose"
    assert BY_SLUG["ask_anonymously"].button == "consult"
    assert BY_SLUG["naloxone"].button == "od_naloxone"
    assert BY_SLUG["hiv_testing"].button == "testing"
    for post in POSTS:
        assert post.button in {"consult", "none"} or post.button in CONTENT.nodes, post.slug


def test_every_post_is_written_in_every_language_and_fits_telegram() -> None:
    for post in POSTS:
        for language in LANGUAGES:
            assert post.title[language] and post.text[language], f"{post.slug}/{language}"
            assert len(post.text[language]) <= TEXT_MAX, f"{post.slug}/{language}"


def test_texts_are_translated_not_copied_from_english() -> None:
    for post in POSTS:
        for language in ("ru", "uk", "kk"):
            assert post.text[language] != post.text["en"], f"{post.slug}/{language}"
            assert post.title[language] != post.title["en"], f"{post.slug}/{language}"


def test_no_stigmatising_words_in_any_language() -> None:
    for post in POSTS:
        for language in LANGUAGES:
            for field in (post.title[language], post.text[language]):
                found = STIGMA.search(" ".join(_parse(field).words))
                assert found is None, f"{post.slug}/{language}: {found.group(0)!r}"


def test_every_source_is_linked_at_the_end_of_every_text() -> None:
    """The composer publishes the text as it is, so readers only see the links in the text."""
    for post in POSTS:
        assert all(url.startswith(("http://", "https://")) for url in post.sources), post.slug
        for language in LANGUAGES:
            missing = set(post.sources) - _parse(post.text[language]).hrefs
            assert not missing, f"{post.slug}/{language} does not link {sorted(missing)}"


def test_medical_posts_have_sources() -> None:
    for slug in ("opioid_overdose", "naloxone", "world_aids_day", "world_hepatitis_day"):
        assert BY_SLUG[slug].sources, slug


def test_phone_numbers_come_with_the_countries_they_work_in() -> None:
    for post in POSTS:
        for language in LANGUAGES:
            words = " ".join(_parse(post.text[language]).words)
            if re.search(r"\b(?:103|112)\b", words):
                for country in COUNTRIES[language]:
                    assert country in words, f"{post.slug}/{language}: name {country}"


def test_the_batch_alert_is_a_template_with_gaps_in_every_language() -> None:
    templates = [post for post in POSTS if post.template]
    assert "dangerous_batch_alert" in {post.slug for post in templates}
    for post in templates:
        for language in LANGUAGES:
            assert len(PLACEHOLDER.findall(post.text[language])) >= 3, f"{post.slug}/{language}"
    for post in POSTS:
        if not post.template:
            assert not any(PLACEHOLDER.search(text) for text in post.text.values()), post.slug


def test_every_post_asks_for_a_kazakh_review() -> None:
    for path in POSTS_DIR.glob("*.yaml"):
        review = yaml.safe_load(path.read_text(encoding="utf-8")).get("review", "")
        assert "Kazakh" in review, f"{path.name}: say the Kazakh text needs a native reviewer"


# ------------------------------------------------------------------ the loader refuses


def _valid() -> dict:
    return {
        "title": {lang: f"Title {lang}" for lang in LANGUAGES},
        "date": "06-26",
        "button": "consult",
        "sources": ["https://example.org/who"],
        "review": "needs a native Kazakh reviewer",
        "text": {
            lang: f'<b>Naloxone</b> {lang}\nSource: <a href="https://example.org/who">WHO</a>'
            for lang in LANGUAGES
        },
    }


def _write(directory: Path, data: dict | str, name: str = "post") -> Path:
    directory.mkdir(exist_ok=True)
    raw = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    (directory / f"{name}.yaml").write_text(raw, encoding="utf-8")
    return directory


def _refused(directory: Path, *, node_ids: tuple[str, ...] = ()) -> str:
    with pytest.raises(ContentError) as error:
        load_ready_posts(directory, node_ids=node_ids)
    return str(error.value)


def test_a_valid_post_loads_with_every_field(tmp_path: Path) -> None:
    data = _valid()
    data["template"] = False
    (post,) = load_ready_posts(_write(tmp_path, data, "world_day"), node_ids={"hiv"})
    assert post == ReadyPost(
        slug="world_day",
        title=data["title"],
        date="06-26",
        button="consult",
        sources=("https://example.org/who",),
        template=False,
        text={lang: data["text"][lang].strip() for lang in LANGUAGES},
    )


def test_missing_language_in_text_is_refused(tmp_path: Path) -> None:
    data = _valid()
    del data["text"]["kk"]
    assert "post.yaml: missing language kk in text" in _refused(_write(tmp_path, data))


def test_missing_language_in_title_is_refused(tmp_path: Path) -> None:
    data = _valid()
    data["title"]["uk"] = "  "
    assert "post.yaml: missing language uk in title" in _refused(_write(tmp_path, data))


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    data = _valid()
    data["buton"] = "hiv"
    assert "post.yaml: unknown key buton" in _refused(_write(tmp_path, data))


def test_unknown_language_is_refused(tmp_path: Path) -> None:
    data = _valid()
    data["text"]["kz"] = "Kazakh?"
    assert "post.yaml: unknown key text.kz" in _refused(_write(tmp_path, data))


@pytest.mark.parametrize("day", ["13-01", "02-30", "02-29", "6-26", "06/26", "", 626, "2026-06-26"])
def test_bad_date_is_refused(tmp_path: Path, day: object) -> None:
    data = _valid()
    data["date"] = day
    assert "post.yaml: bad date" in _refused(_write(tmp_path, data))


def test_unquoted_full_date_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_dump(_valid(), allow_unicode=True).replace("date: 06-26", "date: 2026-06-26")
    assert "post.yaml: bad date" in _refused(_write(tmp_path, raw))


def test_a_post_without_a_date_is_fine(tmp_path: Path) -> None:
    data = _valid()
    del data["date"]
    (post,) = load_ready_posts(_write(tmp_path, data))
    assert post.date is None


def test_button_to_an_unknown_node_is_refused(tmp_path: Path) -> None:
    data = _valid()
    data["button"] = "hiv_typo"
    error = _refused(_write(tmp_path, data), node_ids=("hiv", "overdose"))
    assert "post.yaml: button 'hiv_typo'" in error


def test_button_to_a_known_node_consult_or_none_is_fine(tmp_path: Path) -> None:
    for button in ("hiv", "consult", "none"):
        data = _valid()
        data["button"] = button
        (post,) = load_ready_posts(_write(tmp_path, data), node_ids=("hiv",))
        assert post.button == button


def test_button_is_checked_for_shape_without_node_ids(tmp_path: Path) -> None:
    data = _valid()
    data["button"] = "Open HIV"
    assert "post.yaml: button 'Open HIV'" in _refused(_write(tmp_path, data))
    data = _valid()
    del data["button"]
    assert "post.yaml: needs a button" in _refused(_write(tmp_path, data))


def test_text_over_3500_characters_is_refused(tmp_path: Path) -> None:
    data = _valid()
    tail = data["text"]["en"]
    data["text"]["en"] = "x" * (TEXT_MAX - len(tail)) + tail
    load_ready_posts(_write(tmp_path, data))  # exactly at the limit
    data["text"]["en"] = "x" + data["text"]["en"]
    assert f"post.yaml: text.en has {TEXT_MAX + 1} characters" in _refused(_write(tmp_path, data))


@pytest.mark.parametrize(
    ("html", "problem"),
    [
        ("<b>open", "unclosed <b>"),
        ("closed</b>", "unbalanced </b>"),
        ("<b><i>crossed</b></i>", "unbalanced </b>"),
        ('<span class="x">s</span>', "<span> is not supported"),
        ("line<br/>break", "<br/> is not supported"),
        ("<a>no link</a>", "<a> needs an http(s) href"),
        ('<a href="javascript:alert(1)">x</a>', "<a> needs an http(s) href"),
        ('<b class="x">x</b>', "<b> cannot have class"),
        ("salt & pepper", "write &amp; for &"),
        ("1 < 2", "write &lt; for <"),
        ("a&nbsp;b", "&nbsp; is not supported"),
        ('<a href="https://x.org/?a=1&b=2">x</a>', "write &amp; for & inside <a>"),
        ("<!-- note -->", "comments are not supported"),
    ],
)
def test_unbalanced_or_unsupported_html_is_refused(tmp_path: Path, html: str, problem: str) -> None:
    data = _valid()
    data["text"]["uk"] = html + "\n" + data["text"]["uk"]
    error = _refused(_write(tmp_path, data))
    assert "post.yaml: text.uk:" in error and problem in error


def test_every_tag_telegram_supports_is_accepted(tmp_path: Path) -> None:
    data = _valid()
    data["text"]["en"] += (
        "\n<strong>1</strong><em>2</em><u>3</u><ins>4</ins><s>5</s><strike>6</strike><del>7</del>"
        '<code class="language-python">8</code><pre>9</pre><tg-spoiler>10</tg-spoiler>'
        "<blockquote expandable>11</blockquote> &lt;&gt;&amp;&quot;&#33; "
        '<a href="https://x.org/?a=1&amp;b=2">x</a>'
    )
    load_ready_posts(_write(tmp_path, data))


def test_a_medical_post_without_sources_is_refused(tmp_path: Path) -> None:
    for language, word in (("ru", "передозировка"), ("uk", "лікування"), ("kk", "артық доза")):
        data = _valid()
        del data["sources"]
        for lang in LANGUAGES:
            data["text"][lang] = f"Plain text {lang}"
        data["text"][language] = f"Про {word}"
        error = _refused(_write(tmp_path, data))
        assert f"post.yaml: text.{language} is medical" in error, word


def test_a_post_without_medical_words_needs_no_sources(tmp_path: Path) -> None:
    data = _valid()
    del data["sources"]
    data["text"] = {lang: f"<b>Ask us anonymously</b> ({lang})" for lang in LANGUAGES}
    (post,) = load_ready_posts(_write(tmp_path, data))
    assert post.sources == ()


def test_sources_must_be_web_links(tmp_path: Path) -> None:
    data = _valid()
    data["sources"] = ["WHO guideline, 2014"]
    assert "post.yaml: sources must be a list of http(s) links" in _refused(_write(tmp_path, data))


def test_a_template_needs_gaps_and_only_a_template_may_have_them(tmp_path: Path) -> None:
    data = _valid()
    data["template"] = True
    assert "a template needs [placeholders]" in _refused(_write(tmp_path, data))

    data["text"] = {lang: f"{text} [WHERE]" for lang, text in data["text"].items()}
    (post,) = load_ready_posts(_write(tmp_path, data))
    assert post.template is True

    data["template"] = False
    assert "[WHERE] looks like a gap to fill in" in _refused(_write(tmp_path, data))

    data["text"] = {lang: f"{text} [1]" for lang, text in _valid()["text"].items()}
    load_ready_posts(_write(tmp_path, data))  # a footnote mark is not a gap


def test_a_gap_too_long_for_the_composer_to_spot_is_refused(tmp_path: Path) -> None:
    data = _valid()
    data["template"] = True
    data["text"] = {lang: f"{text} [{'W' * 60}]" for lang, text in data["text"].items()}
    load_ready_posts(_write(tmp_path, data))
    data["text"]["en"] += f" [{'W' * 61}]"
    assert "post.yaml: text.en: [WWW" in _refused(_write(tmp_path, data))


def test_curly_placeholders_are_refused(tmp_path: Path) -> None:
    data = _valid()
    data["text"]["ru"] += "\nЗвоните {ambulance}"
    assert "post.yaml: text.ru: no {placeholders}" in _refused(_write(tmp_path, data))


def test_a_long_title_is_refused(tmp_path: Path) -> None:
    data = _valid()
    data["title"]["en"] = "T" * 61
    assert "post.yaml: title.en: one line" in _refused(_write(tmp_path, data))


def test_bad_file_name_is_refused(tmp_path: Path) -> None:
    error = _refused(_write(tmp_path, _valid(), "World-AIDS-day"))
    assert "World-AIDS-day.yaml: the file name must be [a-z0-9_]" in error


def test_broken_yaml_or_not_a_mapping_is_refused(tmp_path: Path) -> None:
    assert "post.yaml: cannot be read" in _refused(_write(tmp_path, "title: [unclosed"))
    assert "post.yaml: must be a mapping" in _refused(_write(tmp_path, "- a list"))


def test_every_broken_file_is_reported_at_once(tmp_path: Path) -> None:
    first, second = _valid(), _valid()
    del first["text"]["en"]
    second["date"] = "99-99"
    _write(tmp_path, first, "first")
    _write(tmp_path, second, "second")
    error = _refused(tmp_path)
    assert "first.yaml: missing language en" in error and "second.yaml: bad date" in error


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    assert "no such directory" in _refused(tmp_path / "nowhere")


# ------------------------------------------------------------------ upcoming


def _post(slug: str, day: str | None) -> ReadyPost:
    return ReadyPost(
        slug=slug,
        title=dict.fromkeys(LANGUAGES, slug),
        date=day,
        button="none",
        sources=(),
        template=False,
        text=dict.fromkeys(LANGUAGES, slug),
    )


def test_upcoming_lists_dated_posts_within_the_window_nearest_first() -> None:
    posts = [
        _post("later", "07-01"),
        _post("today", "06-10"),
        _post("undated", None),
        _post("soon", "06-20"),
        _post("last_day", "07-01"),
        _post("past", "06-09"),
        _post("too_far", "07-02"),
    ]
    found = upcoming(posts, date(2026, 6, 10))  # 07-01 is 21 days away, 07-02 is 22
    assert [post.slug for post in found] == ["today", "soon", "last_day", "later"]


def test_upcoming_wraps_around_the_new_year() -> None:
    new_year = _post("new_year", "01-01")
    assert next_date(new_year, date(2026, 12, 20)) == date(2027, 1, 1)
    assert upcoming([new_year, _post("december", "12-31")], date(2026, 12, 20)) == [
        _post("december", "12-31"),
        new_year,
    ]
    assert upcoming([new_year], date(2026, 12, 20), days=11) == []


def test_upcoming_with_a_custom_window() -> None:
    posts = [_post("a", "03-24"), _post("b", "06-26")]
    assert [p.slug for p in upcoming(posts, date(2026, 3, 1), days=120)] == ["a", "b"]
    assert upcoming(posts, date(2026, 3, 1), days=10) == []


def test_a_leap_day_post_waits_for_a_leap_year() -> None:
    assert next_date(_post("leap", "02-29"), date(2026, 3, 1)) == date(2028, 2, 29)
    assert next_date(_post("undated", None), date(2026, 3, 1)) is None


@pytest.mark.parametrize(
    ("today", "first"),
    [
        (date(2026, 3, 10), "world_tb_day"),
        (date(2026, 6, 10), "support_dont_punish"),
        (date(2026, 7, 20), "world_hepatitis_day"),
        (date(2026, 8, 20), "overdose_awareness_day"),
        (date(2026, 11, 20), "world_aids_day"),
    ],
)
def test_upcoming_on_the_real_posts(today: date, first: str) -> None:
    assert upcoming(POSTS, today)[0].slug == first
