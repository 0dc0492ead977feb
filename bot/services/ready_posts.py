"""Ready-made channel posts from `content/posts/` (see content/posts/README.md).

An admin starts a `/post` draft from one of them. They are checked when loaded, so a broken
file is reported with its name and the problem instead of reaching a channel.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import yaml

from bot.config import LANGUAGES
from bot.services.content import CONTENT_DIR, ContentError

POSTS_DIR = CONTENT_DIR / "posts"
TEXT_MAX = 3500  # Telegram allows 4096 after parsing; this leaves room for an edit
TITLE_MAX = 60
GAP_MAX = 60  # the composer's check for unfilled [gaps] only spots gaps this short
BUTTONS = ("consult", "none")  # besides a menu node id
KEYS = {"title", "date", "button", "sources", "review", "template", "text"}
# Tags Telegram's HTML parse mode accepts; attributes it accepts on them.
TAGS: dict[str, set[str]] = {
    **{tag: set() for tag in ("b", "strong", "i", "em", "u", "ins", "s", "strike", "del")},
    **{tag: set() for tag in ("pre", "tg-spoiler")},
    "a": {"href"},
    "code": {"class"},
    "blockquote": {"expandable"},
}
ENTITIES = {"lt", "gt", "amp", "quot"}  # the only named entities Telegram knows

_Fail = Callable[[str], ContentError]
_SLUG = re.compile(r"[a-z0-9_]{1,24}")
_DATE = re.compile(r"(\d\d)-(\d\d)")
_BARE_AMP = re.compile(r"&(?!(?:lt|gt|amp|quot);|#\d+;|#x[0-9a-fA-F]+;)")
# "[where]", "[ЧТО: ...]": a gap the admin must fill in; "[1]" is a footnote, not a gap.
PLACEHOLDER = re.compile(r"\[[^\]\d\n][^\]\n]*\]")
# Words that make a text a medical one (any language); such a post must list its sources.
_MEDICAL = re.compile(
    r"overdos|naloxone|\bdoses?\b|\bmg\b|treat|therap|antiviral|"
    r"передозир|передозув|налоксон|\bдоз[аыуеі]\b|\bмг\b|лечен|лечат|лікуван|лікують|терапи|"
    r"терапі|артық доз|емдел|\bем\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReadyPost:
    slug: str
    title: dict[str, str]
    date: str | None  # "MM-DD": the day each year it is meant for
    button: str  # "consult", "none" or a menu node id
    sources: tuple[str, ...]
    template: bool  # has [placeholders] the admin must replace before publishing
    text: dict[str, str]


def load_ready_posts(directory: Path, *, node_ids: Collection[str] = ()) -> list[ReadyPost]:
    """Every `*.yaml` in `directory`, sorted by slug; node_ids, if given, are the valid buttons."""
    if not directory.is_dir():
        raise ContentError(f"{directory}: no such directory")
    posts, problems = [], []
    for path in sorted(directory.glob("*.yaml")):
        try:
            posts.append(_load(path, node_ids))
        except ContentError as exc:
            problems.append(str(exc))
    if problems:
        raise ContentError("\n".join(problems))
    return posts


def next_date(post: ReadyPost, today: date) -> date | None:
    """The post's next day on or after `today`; None for an undated post."""
    if post.date is None:
        return None
    month, day = int(post.date[:2]), int(post.date[3:])
    for year in range(today.year, today.year + 9):  # 9 years always hold a 29 February
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def upcoming(posts: Iterable[ReadyPost], today: date, days: int = 21) -> list[ReadyPost]:
    """Dated posts whose next day is within `days` of `today`, nearest first."""
    horizon = today + timedelta(days=days)
    dated = [(when, post) for post in posts if (when := next_date(post, today)) is not None]
    return [
        post for when, post in sorted(dated, key=lambda p: (p[0], p[1].slug)) if when <= horizon
    ]


def _load(path: Path, node_ids: Collection[str]) -> ReadyPost:
    def fail(problem: str) -> ContentError:
        return ContentError(f"{path.name}: {problem}")

    slug = path.stem
    if not _SLUG.fullmatch(slug):
        raise fail("the file name must be [a-z0-9_], at most 24 characters, then .yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise fail(f"cannot be read: {exc}") from exc
    if not isinstance(raw, dict):
        raise fail("must be a mapping with title, button and text")
    unknown = sorted(str(key) for key in raw.keys() - KEYS)
    if unknown:
        raise fail(f"unknown key {', '.join(unknown)} (allowed: {', '.join(sorted(KEYS))})")

    title = _per_language(raw.get("title"), "title", fail)
    text = _per_language(raw.get("text"), "text", fail)
    for language, value in title.items():
        if len(value) > TITLE_MAX or "\n" in value:
            raise fail(f"title.{language}: one line of at most {TITLE_MAX} characters")

    when = raw.get("date")
    if when is not None:
        when = _check_date(when, fail)

    button = raw.get("button")
    if not isinstance(button, str) or not button:
        raise fail("needs a button: consult, none or a menu node id")
    if button not in BUTTONS and (
        not _SLUG.fullmatch(button) or (node_ids and button not in node_ids)
    ):
        raise fail(f"button {button!r} is not consult, none or a node in content/menu.yaml")

    sources = raw.get("sources") or []
    if not isinstance(sources, list) or not all(
        isinstance(url, str) and url.startswith(("http://", "https://")) for url in sources
    ):
        raise fail("sources must be a list of http(s) links")

    template = raw.get("template", False)
    if not isinstance(template, bool):
        raise fail("template must be true or false")
    review = raw.get("review")
    if review is not None and not isinstance(review, str):
        raise fail("review must be text")

    for language, body in text.items():
        where = f"text.{language}"
        if len(body) > TEXT_MAX:
            raise fail(f"{where} has {len(body)} characters, at most {TEXT_MAX}")
        html_problems = html_problems_in(body)
        if html_problems:
            raise fail(f"{where}: {'; '.join(html_problems)}")
        if "{" in body or "}" in body:
            raise fail(f"{where}: no {{placeholders}} here, the text is published as it is")
        gaps = PLACEHOLDER.findall(body)
        if template and not gaps:
            raise fail(f"{where}: a template needs [placeholders] for the admin to fill in")
        if not template and gaps:
            raise fail(f"{where}: {gaps[0]} looks like a gap to fill in; set template: true")
        long_gaps = [gap for gap in gaps if len(gap) - 2 > GAP_MAX]
        if long_gaps:
            raise fail(f"{where}: {long_gaps[0][:30]}… is too long: at most {GAP_MAX} characters")
        medical = _MEDICAL.search(body)
        if medical and not sources:
            raise fail(f"{where} is medical ({medical.group(0)!r}) but the post lists no sources")

    return ReadyPost(
        slug=slug,
        title=title,
        date=when,
        button=button,
        sources=tuple(sources),
        template=template,
        text=text,
    )


def _per_language(value: object, key: str, fail: _Fail) -> dict[str, str]:
    if not isinstance(value, dict):
        raise fail(f"{key} needs one entry per language: {', '.join(LANGUAGES)}")
    unknown = sorted(str(lang) for lang in value.keys() - set(LANGUAGES))
    if unknown:
        raise fail(f"unknown key {key}.{', '.join(unknown)} (languages: {', '.join(LANGUAGES)})")
    result: dict[str, str] = {}
    for language in LANGUAGES:
        entry = value.get(language)
        if not isinstance(entry, str) or not entry.strip():
            raise fail(f"missing language {language} in {key}")
        result[language] = entry.strip()
    return result


def _check_date(value: object, fail: _Fail) -> str:
    match = _DATE.fullmatch(value) if isinstance(value, str) else None
    if match:
        try:
            # 2001 is not a leap year: a post for 29 February would be skipped three years in four
            date(2001, int(match[1]), int(match[2]))
        except ValueError:
            match = None
    if not match:
        raise fail(f'bad date {value!r}: write the day of the year in quotes, like "06-26"')
    return match[0]


class _TelegramHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.problems.append(f"<{tag}> is not supported by Telegram")
        else:
            extra = sorted({name for name, _ in attrs} - TAGS[tag])
            if extra:
                self.problems.append(f"<{tag}> cannot have {', '.join(extra)}")
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if not href.startswith(("http://", "https://", "tg://")):
                self.problems.append("<a> needs an http(s) href")
        if _BARE_AMP.search(self.get_starttag_text() or ""):
            self.problems.append(f"write &amp; for & inside <{tag}>")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"<{tag}/> is not supported by Telegram")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
            if char in data:
                self.problems.append(f"write {entity} for {char}")

    def handle_entityref(self, name: str) -> None:
        if name not in ENTITIES:
            self.problems.append(f"&{name}; is not supported by Telegram")

    def handle_comment(self, data: str) -> None:
        self.problems.append("HTML comments are not supported by Telegram")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declarations are not supported by Telegram")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instructions are not supported by Telegram")

    def unknown_decl(self, data: str) -> None:
        self.problems.append("declarations are not supported by Telegram")


def html_problems_in(text: str) -> list[str]:
    """What keeps `text` from being valid Telegram HTML; empty when it is fine."""
    checker = _TelegramHtml()
    checker.feed(text)
    checker.close()
    problems = list(dict.fromkeys(checker.problems))
    if checker.stack:
        problems.append(f"unclosed <{'>, <'.join(checker.stack)}>")
    return problems
