"""Button kinds on staff screens: consultants, supervisors and channel admins (see
bot/callbacks.py, which registers these along with the clients' kinds and re-exports them)."""

from __future__ import annotations

from bot.callback_codec import Callback, kind

ID = r"(\d{1,10})"
SLUG = r"([a-z0-9_]{1,24})"

# --- Consultants and supervisors -------------------------------------------------------------


@kind("take", ID)  # take a waiting conversation
class Take(Callback):
    conversation_id: int


@kind("close", rf"{ID}:([a-z_]{{2,24}})")  # close with an outcome
class Close(Callback):
    conversation_id: int
    outcome: str


@kind("cur", ID)  # gone (no current conversation): explained if pressed
class OldSwitch(Callback):
    conversation_id: int


@kind("on", rf"(close|release|release_ok|history|note|transfer|refer|canned|block):{ID}")
class PickConversation(Callback):
    """ "Which conversation?" for a command (handlers/staff_common.ask_which)."""

    action: str
    conversation_id: int


@kind("for", rf"(c|i)(?::{ID})?")
class MessageFor(Callback):
    """ "Who is this message for?": a conversation ("c", its id) or the input one started ("i")."""

    target: str
    conversation_id: int | None = None


@kind("xfr", rf"{ID}:(peer|lawyer|psychologist|medic)")  # hand over to a role
class TransferToRole(Callback):
    conversation_id: int
    role: str


@kind("xto", rf"{ID}:{ID}")  # hand over to a colleague
class TransferToColleague(Callback):
    conversation_id: int
    staff_id: int


@kind("ref", rf"{ID}:([a-z_]{{2,24}})")  # refer to a type of service
class Refer(Callback):
    conversation_id: int
    service_type: str


@kind("desk", r"(show)")  # refresh the supervisors' desk
class DeskRefresh(Callback):
    action: str = "show"


@kind("join", rf"{ID}:(in|out|take)")  # join a conversation silently, leave it, take it over
class Join(Callback):
    conversation_id: int
    action: str


@kind("askhelp", ID)  # ask a supervisor about a conversation (0: none in particular)
class AskSupervisor(Callback):
    conversation_id: int


@kind("care", rf"(talk|break|off):{ID}")  # the debrief's and duty reminder's answers
class CareAnswer(Callback):
    choice: str
    conversation_id: int  # 0 for none


@kind("can", rf"{ID}(?::{ID})?")  # send a canned answer (offered for one conversation)
class SendCanned(Callback):
    canned_id: int
    conversation_id: int | None = None


@kind("tpc", r"(ost|hiv|tb|hepatitis|testing|legal|psychologist|humanitarian|general)")
class ToggleTopic(Callback):
    """Switch one of one's own topics on or off."""

    topic: str


# --- Channel admins: channels, posts, stories, surveys ---------------------------------------


@kind("chl", rf"{ID}:(ru|uk|kk|en|off)")  # a channel's language, or pause it
class ChannelLanguage(Callback):
    channel_id: int
    choice: str


@kind("pe", rf"{ID}:(show|button|where|subs|preview|ready|cancel|event|noevent)")
class PostEditor(Callback):
    post_id: int
    action: str


@kind("pp", rf"{ID}:(publish|publish_ok|schedule|unschedule|delete|delete_ok)")
class PostPublishing(Callback):
    """Publishing a post: now, on a schedule, or taking it down."""

    post_id: int
    action: str


@kind("pl", rf"{ID}:(ru|uk|kk|en|drop_ru|drop_uk|drop_kk|drop_en)")  # a version to write/drop
class PostVersion(Callback):
    post_id: int
    choice: str


@kind("pb", rf"{ID}:(none|consult|node|url|pick)(?::{SLUG})?")  # the post's button
class PostButton(Callback):
    post_id: int
    choice: str
    target: str | None = None


@kind("pc", rf"{ID}:{ID}")  # a channel to choose or un-choose for a post
class PostChannel(Callback):
    post_id: int
    channel_id: int


@kind("pf", rf"{ID}:(ru|uk|kk|en|none)")
class PostFallback(Callback):
    """Which version subscribers get whose language a post lacks (or none)."""

    post_id: int
    language: str


@kind("rdy", rf"{ID}:{SLUG}")  # a ready-made post to start from
class ReadyPost(Callback):
    post_id: int
    slug: str


@kind("pls", r"(draft|scheduled|published)")  # /posts: which list
class PostList(Callback):
    status: str


@kind("stv", rf"{ID}:(show|approve|reject|identifying|risk|off_topic|duplicate|russia|other)")
class StoryReview(Callback):
    """Read a story, approve it, or reject it with one of the reasons."""

    story_id: int
    decision: str


@kind("svy", rf"{ID}:(show|add|send|polls|results|close|multi|drop)(?::{ID})?")
class SurveyAction(Callback):
    """A channel admin's action on a survey (some on one of its questions)."""

    survey_id: int
    action: str
    question_id: int | None = None


# --- Rights-violation case records (handlers/cases.py, handlers/case_form.py) -----------------


@kind("cso", ID)  # record a case from this conversation
class CaseStart(Callback):
    conversation_id: int


@kind("cco", rf"{ID}:(yes|no|keep|drop)")  # the client's consent answers
class CaseConsent(Callback):
    case_id: int
    answer: str


@kind(  # the consultant's form: open a field, or finish
    "cf",
    rf"{ID}:(show|violation|country|month|perpetrator|legal_aid|outcome|region|noregion|done)",
)
class CaseField(Callback):
    case_id: int
    field: str


@kind(
    "cv", rf"{ID}:(violation|country|month|perpetrator|legal_aid|outcome):([A-Za-z0-9_-]{{1,24}})"
)
class CaseValue(Callback):  # set a field of the form to a value
    case_id: int
    field: str
    value: str
