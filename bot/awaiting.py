"""What a person's next plain message means, as typed values that lapse.

A person who pressed "✏️ RU" on a post, or was asked for their city, has started an input: their
next message fills it in. Stored as a short string in the database (`Client.awaiting`,
`Staff.awaiting`, with `awaiting_until`), so a restart or a second process keeps it; read back
only through `decode`, so no flow parses another flow's strings.

Every input lapses (`LIFETIME`): a post left half-written in the morning must not swallow an
answer meant for a client in the evening (issue 8). The front door clears a lapsed input and
tells the person (handlers/door.py); taking a conversation, /start and /cancel clear it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from bot.languages import LANGUAGES as _LANGUAGES

# --- A client's inputs -------------------------------------------------------------------


@dataclass(frozen=True)
class CityName:
    """The client was asked to type their city."""

    kind: ClassVar[str] = "city"


@dataclass(frozen=True)
class RatingComment:
    """An optional comment after rating a conversation."""

    conversation_id: int
    kind: ClassVar[str] = "comment"


@dataclass(frozen=True)
class AidDetails:
    """The details of a humanitarian aid request (`need` is one of handlers/humanitarian.NEEDS)."""

    need: str
    kind: ClassVar[str] = "hum"


@dataclass(frozen=True)
class StoryText:
    """An anonymous experience story."""

    kind: ClassVar[str] = "story"


# --- A staff member's inputs -----------------------------------------------------------------


@dataclass(frozen=True)
class PostText:
    """One language version of a draft post."""

    post_id: int
    language: str
    kind: ClassVar[str] = "post_text"


@dataclass(frozen=True)
class PostEdit:
    """A new text for one language of a published post."""

    post_id: int
    language: str
    kind: ClassVar[str] = "post_edit"


@dataclass(frozen=True)
class PostUrl:
    """A post's link button: "label | https://…"."""

    post_id: int
    kind: ClassVar[str] = "post_url"


@dataclass(frozen=True)
class PostEvent:
    """When the event a post invites to takes place."""

    post_id: int
    kind: ClassVar[str] = "post_event"


@dataclass(frozen=True)
class PostWhen:
    """When a post is to be published."""

    post_id: int
    kind: ClassVar[str] = "post_when"


@dataclass(frozen=True)
class SurveyQuestion:
    """A question (with its options) for a draft survey."""

    survey_id: int
    kind: ClassVar[str] = "survey_q"


@dataclass(frozen=True)
class CaseRegion:
    """The region of a rights-violation case record (bot/services/cases.py)."""

    case_id: int
    kind: ClassVar[str] = "case_region"


# --- Practising ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Practice:
    """A consultant in a practice conversation (handlers/practice.py): `step` answers the
    pretend client has had. Not a staff input: a real conversation always comes first, and
    nothing asks "is this for the practice client?" (handlers/dispatch.py, tier 2b)."""

    step: int
    kind: ClassVar[str] = "practice"


ClientInput = CityName | RatingComment | AidDetails | StoryText
PostInput = PostText | PostEdit | PostUrl | PostEvent | PostWhen
StaffInput = PostInput | SurveyQuestion | CaseRegion
Input = ClientInput | StaffInput | Practice

# How long an input waits for its message. Long enough to look something up or write a post
# in peace; short enough that a forgotten one never captures words meant for someone else.
LIFETIME: dict[str, timedelta] = {
    CityName.kind: timedelta(minutes=30),
    RatingComment.kind: timedelta(minutes=30),
    AidDetails.kind: timedelta(minutes=60),
    StoryText.kind: timedelta(minutes=60),
    PostText.kind: timedelta(minutes=60),
    PostEdit.kind: timedelta(minutes=60),
    PostUrl.kind: timedelta(minutes=30),
    PostEvent.kind: timedelta(minutes=30),
    PostWhen.kind: timedelta(minutes=30),
    SurveyQuestion.kind: timedelta(minutes=60),
    CaseRegion.kind: timedelta(minutes=30),
    Practice.kind: timedelta(minutes=30),
}

_ID_MAX = 2**31 - 1
_NEEDS = ("food", "hygiene", "baby", "housing", "transport", "other")


def encode(value: Input) -> str:
    """The stored form: the kind and its fields joined by ":" (at most 32 characters)."""
    match value:
        case CityName() | StoryText():
            return value.kind
        case RatingComment(conversation_id=n) | PostUrl(post_id=n) | PostEvent(post_id=n):
            return f"{value.kind}:{n}"
        case PostWhen(post_id=n) | SurveyQuestion(survey_id=n) | Practice(step=n):
            return f"{value.kind}:{n}"
        case CaseRegion(case_id=n):
            return f"{value.kind}:{n}"
        case AidDetails(need=need):
            return f"{value.kind}:{need}"
        case PostText(post_id=n, language=language) | PostEdit(post_id=n, language=language):
            return f"{value.kind}:{n}:{language}"
    raise TypeError(f"not an input: {value!r}")


def decode(raw: str | None) -> Input | None:
    """The input a stored string stands for; None for nothing, or for anything unknown
    (an old or damaged value is dropped, never guessed at)."""
    if not raw:
        return None
    kind, _sep, rest = raw.partition(":")
    parts = rest.split(":") if rest else []
    if kind == CityName.kind and not parts:
        return CityName()
    if kind == StoryText.kind and not parts:
        return StoryText()
    if kind == AidDetails.kind and len(parts) == 1 and parts[0] in _NEEDS:
        return AidDetails(parts[0])
    if kind == Practice.kind and len(parts) == 1 and parts[0].isdigit() and len(parts[0]) < 3:
        return Practice(int(parts[0]))
    number = _id(parts[0]) if parts else None
    if number is None:
        return None
    if len(parts) == 1:
        single: dict[
            str,
            type[RatingComment | PostUrl | PostEvent | PostWhen | SurveyQuestion | CaseRegion],
        ]
        single = {
            RatingComment.kind: RatingComment,
            PostUrl.kind: PostUrl,
            PostEvent.kind: PostEvent,
            PostWhen.kind: PostWhen,
            SurveyQuestion.kind: SurveyQuestion,
            CaseRegion.kind: CaseRegion,
        }
        cls = single.get(kind)
        return cls(number) if cls else None
    if len(parts) == 2 and parts[1] in _LANGUAGES:
        if kind == PostText.kind:
            return PostText(number, parts[1])
        if kind == PostEdit.kind:
            return PostEdit(number, parts[1])
    return None


def expires_at(value: Input, now: datetime) -> datetime:
    return now + LIFETIME[value.kind]


def current(
    raw: str | None, until: datetime | None, now: datetime
) -> tuple[Input | None, Input | None]:
    """(the input still open, the input that lapsed): what the front door acts on. A value
    without an expiry (stored before expiries existed) counts as lapsed."""
    value = decode(raw)
    if value is None:
        return None, None
    if until is None or _aware(until) <= now:
        return None, value
    return value, None


def as_client(value: Input | None) -> ClientInput | None:
    """The value if it is a client's input (a client row never holds a staff input)."""
    if isinstance(value, CityName | RatingComment | AidDetails | StoryText):
        return value
    return None


def as_staff(value: Input | None) -> StaffInput | None:
    """The value if it is a staff member's input."""
    staff_kinds = (PostText, PostEdit, PostUrl, PostEvent, PostWhen, SurveyQuestion, CaseRegion)
    if isinstance(value, staff_kinds):
        return value
    return None


def as_practice(value: Input | None) -> Practice | None:
    """The value if it is a practice conversation."""
    return value if isinstance(value, Practice) else None


def _id(text: str) -> int | None:
    if not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= _ID_MAX else None


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
