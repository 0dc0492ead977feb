"""Typed, versioned callback_data for inline buttons: one frozen dataclass per kind.

`encode(Take(conversation_id=5))` gives "1take:5"; `parse("1take:5")` gives that value back,
and anything stale, foreign, forged or over Telegram's 64 bytes gives None (answered as an
out-of-date button). Each kind's pattern lists its fields' groups in order (joined by ":");
the reading and writing is in bot/callback_codec.py. Payloads stay far below 64 bytes.
"""

from __future__ import annotations

from bot.callback_codec import (
    KINDS,
    MAX_LENGTH,
    VERSION,
    Callback,
    encode,
    kind,
    parse,
    parse_as,
    pattern_for,
)
from bot.config import Language

# The staff's kinds: registered by this import, and available from here like the clients'.
from bot.staff_callbacks import (
    AskSupervisor,
    CareAnswer,
    CaseConsent,
    CaseField,
    CaseStart,
    CaseValue,
    ChannelLanguage,
    Close,
    DeskRefresh,
    Join,
    MessageFor,
    OldSwitch,
    PickConversation,
    PostButton,
    PostChannel,
    PostEditor,
    PostFallback,
    PostList,
    PostPublishing,
    PostVersion,
    ReadyPost,
    Refer,
    SendCanned,
    StoryReview,
    SurveyAction,
    Take,
    ToggleTopic,
    TransferToColleague,
    TransferToRole,
)

__all__ = ["KINDS", "MAX_LENGTH", "VERSION", "Callback", "encode", "parse", "parse_as"]
__all__ += ["pattern_for"]
__all__ += [
    "AskSupervisor",
    "CareAnswer",
    "CaseConsent",
    "CaseField",
    "CaseStart",
    "CaseValue",
    "ChannelLanguage",
    "Close",
    "DeskRefresh",
    "Join",
    "MessageFor",
    "OldSwitch",
    "PickConversation",
    "PostButton",
    "PostChannel",
    "PostEditor",
    "PostFallback",
    "PostList",
    "PostPublishing",
    "PostVersion",
    "ReadyPost",
    "Refer",
    "SendCanned",
    "StoryReview",
    "SurveyAction",
    "Take",
    "ToggleTopic",
    "TransferToColleague",
    "TransferToRole",
]

ID = r"(\d{1,10})"
SLUG = r"([a-z0-9_]{1,24})"

# --- A client's first steps, menus and settings ----------------------------------------------


@kind("lang", r"(ru|uk|kk|en)")
class ChooseLanguage(Callback):
    language: Language


@kind("priv", r"(ok)")  # the privacy notice was read
class PrivacyRead(Callback):
    answer: str = "ok"


@kind("ctry", r"(RU|UA|KZ|other)")
class ChooseCountry(Callback):
    country: str


@kind("city", r"([a-z0-9_-]{1,40})")
class ChooseCity(Callback):
    city: str  # a city key, or "-" to skip


@kind("menu", SLUG)
class OpenMenu(Callback):
    node: str


@kind("act", SLUG)  # a built-in screen of the menu (a menu.yaml action)
class OpenScreen(Callback):
    node: str


@kind("svc", r"([a-z0-9_]{1,24}):(\d{1,3})")  # a page of a services node
class ServicesPage(Callback):
    node: str
    page: int


@kind("set", r"(show|lang|country|city|forget)")
class SettingsAction(Callback):
    action: str


@kind("forget", r"(yes|no)")  # confirm deleting all of one's data
class ConfirmForget(Callback):
    answer: str


@kind("hide", r"(now)")  # clear this chat (the last 48 hours), at once
class HideChat(Callback):
    when: str = "now"


@kind("news", r"(on|off)")  # subscribe to / unsubscribe from news
class News(Callback):
    choice: str


@kind("hreq", r"(start|food|hygiene|baby|housing|transport|other)")  # the aid form
class AidRequest(Callback):
    need: str


@kind("hsend", r"(food|hygiene|baby|housing|transport|other)")  # send without details
class AidSend(Callback):
    need: str


# --- Human consultation: the client's side ---------------------------------------------------


@kind("ask", r"([a-z]{2,16})")  # ask for a consultant on a topic
class AskConsultant(Callback):
    topic: str


@kind("urg", r"([a-z]{2,16}):([01])")
class OpenRequest(Callback):
    topic: str
    urgent: bool


@kind("end", ID)  # the client ends / cancels a conversation
class EndConversation(Callback):
    conversation_id: int


@kind("esc", ID)  # the client makes their waiting request urgent
class MakeUrgent(Callback):
    conversation_id: int


@kind("lng", rf"{ID}:(ru|uk|kk|en|no)")
class ContinueInLanguage(Callback):
    """The answer to "continue in another language?": that language, or wait ("no")."""

    conversation_id: int
    language: str


@kind("rate", rf"{ID}:([1-5])")
class Rate(Callback):
    conversation_id: int
    stars: int


@kind("fup", rf"{ID}:(helped|not_helped|not_reached|stop)")  # a referral's follow-up
class FollowUpAnswer(Callback):
    conversation_id: int
    answer: str


@kind("sto", rf"(write|send|cancel)(?::{ID})?")  # a client's story
class StoryAction(Callback):
    action: str
    story_id: int | None = None


@kind("svo", rf"{ID}:(\d{{1,2}})")  # a survey answer: one option
class SurveyOption(Callback):
    question_id: int
    option: int


@kind("svm", rf"{ID}:(\d{{1,4}})")  # a multiple-choice answer with one option toggled
class SurveyToggle(Callback):
    question_id: int
    mask: int


@kind("svs", rf"{ID}:(\d{{1,4}})")  # send a multiple-choice answer
class SurveySend(Callback):
    question_id: int
    mask: int
