"""Typed, versioned callback_data for inline buttons.

Buttons outlive deploys and can be forged, so every payload is parsed against a small
schema; anything that does not parse is answered as a stale button, never trusted.
Payloads stay far below Telegram's 64-byte limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

VERSION = "1"

# kind -> pattern of its arguments (joined by ":")
_SCHEMA: dict[str, re.Pattern[str]] = {
    "lang": re.compile(r"(ru|uk|kk|en)"),  # choose a language
    "priv": re.compile(r"ok"),  # privacy notice read
    "ctry": re.compile(r"(RU|UA|KZ|other)"),  # choose a country
    "city": re.compile(r"([a-z0-9_-]{1,40})"),  # a city key, or "-" to skip
    "menu": re.compile(r"([a-z0-9_]{1,24})"),  # open a menu node
    "svc": re.compile(r"([a-z0-9_]{1,24}):(\d{1,3})"),  # a services node, page number
    "set": re.compile(r"(show|lang|country|city|forget)"),  # a settings action
    "forget": re.compile(r"(yes|no)"),  # confirm deleting all data
    "hide": re.compile(r"(now)"),  # clear this chat (the last 48 hours), at once
    # Human consultation
    "ask": re.compile(r"([a-z]{2,16})"),  # a client asks for a consultant on a topic
    "urg": re.compile(r"([a-z]{2,16}):([01])"),  # topic, urgent or not
    "end": re.compile(r"(\d{1,10})"),  # the client ends / cancels a conversation
    "esc": re.compile(r"(\d{1,10})"),  # the client makes their waiting request urgent
    # The client's answer to "continue in another language?": that language, or wait ("no")
    "lng": re.compile(r"(\d{1,10}):(ru|uk|kk|en|no)"),
    "rate": re.compile(r"(\d{1,10}):([1-5])"),  # the client rates a closed conversation
    "take": re.compile(r"(\d{1,10})"),  # a consultant takes a waiting conversation
    "close": re.compile(r"(\d{1,10}):([a-z_]{2,24})"),  # close with an outcome
    "cur": re.compile(r"(\d{1,10})"),  # gone (no current conversation): explained if pressed
    # "Which conversation?" for a command (handlers/staff_common.ask_which): action, id
    "on": re.compile(
        r"(close|release|release_ok|history|note|transfer|refer|canned|block):(\d{1,10})"
    ),
    # "Who is this message for?": a conversation ("c", its id) or the input they started ("i")
    "for": re.compile(r"(c|i)(?::(\d{1,10}))?"),
    "hreq": re.compile(r"(start|food|hygiene|baby|housing|transport|other)"),  # aid form
    "hsend": re.compile(r"(food|hygiene|baby|housing|transport|other)"),  # send without details
    "news": re.compile(r"(on|off)"),  # subscribe to / unsubscribe from news
    "fup": re.compile(r"(\d{1,10}):(helped|not_helped|not_reached|stop)"),  # referral follow-up
    # Consultant tools: hand over to a role or to a colleague, refer to a service type
    "xfr": re.compile(r"(\d{1,10}):(peer|lawyer|psychologist|medic)"),  # conversation, role
    "xto": re.compile(r"(\d{1,10}):(\d{1,10})"),  # conversation id, colleague's staff id
    "ref": re.compile(r"(\d{1,10}):([a-z_]{2,24})"),  # conversation id, service type
    # Supervisors' desk: refresh it; join a conversation silently, leave it, or take it over
    "desk": re.compile(r"(show)"),
    "join": re.compile(r"(\d{1,10}):(in|out|take)"),
    # Care for consultants: ask a supervisor about a conversation (0: none in particular);
    # the debrief and duty reminder's answers (about a conversation, 0 for none)
    "askhelp": re.compile(r"(\d{1,10})"),
    "care": re.compile(r"(talk|break|off):(\d{1,10})"),
    # Staff tools: send a canned answer, switch one of one's own topics on or off
    "can": re.compile(r"(\d{1,10})(?::(\d{1,10}))?"),  # canned answer id, conversation id
    "tpc": re.compile(r"(ost|hiv|tb|hepatitis|testing|legal|psychologist|humanitarian|general)"),
    # Channel admins: channels and posts
    "chl": re.compile(r"(\d{1,10}):(ru|uk|kk|en|off)"),  # a channel's language, or pause it
    "pe": re.compile(r"(\d{1,10}):(show|button|where|subs|preview|ready|cancel|event|noevent)"),
    "pp": re.compile(  # publishing a post: now, on a schedule, or taking it down
        r"(\d{1,10}):(publish|publish_ok|schedule|unschedule|delete|delete_ok)"
    ),
    "pl": re.compile(r"(\d{1,10}):(ru|uk|kk|en|drop_ru|drop_uk|drop_kk|drop_en)"),  # a version
    "pb": re.compile(r"(\d{1,10}):(none|consult|node|url|pick)(?::([a-z0-9_]{1,24}))?"),
    "pc": re.compile(r"(\d{1,10}):(\d{1,10})"),  # post, channel to choose or un-choose
    "act": re.compile(r"([a-z0-9_]{1,24})"),  # a built-in screen of the menu (menu.yaml action)
    "sto": re.compile(r"(write|send|cancel)(?::(\d{1,10}))?"),  # a client's story
    # A channel admin reviews a story: read, approve, or reject with one of the reasons.
    "stv": re.compile(
        r"(\d{1,10}):(show|approve|reject|identifying|risk|off_topic|duplicate|russia|other)"
    ),
    # Surveys: a channel admin's action on a survey (some on one of its questions); a client's
    # answer (one option), a toggle of a multiple-choice answer (bit mask), sending it.
    "svy": re.compile(r"(\d{1,10}):(show|add|send|polls|results|close|multi|drop)(?::(\d{1,10}))?"),
    "svo": re.compile(r"(\d{1,10}):(\d{1,2})"),
    "svm": re.compile(r"(\d{1,10}):(\d{1,4})"),
    "svs": re.compile(r"(\d{1,10}):(\d{1,4})"),
    "pls": re.compile(r"(draft|scheduled|published)"),  # /posts: which list
    # Which version subscribers get whose language a post lacks (or none)
    "pf": re.compile(r"(\d{1,10}):(ru|uk|kk|en|none)"),
    "rdy": re.compile(r"(\d{1,10}):([a-z0-9_]{1,24})"),  # post, ready-made post to start from
    # Rights-violation case records (handlers/cases.py): the conversation a consultant records
    # a case from; the client's consent answers; the consultant's form (open a field, or set
    # one to a value).
    "cso": re.compile(r"(\d{1,10})"),
    "cco": re.compile(r"(\d{1,10}):(yes|no|keep|drop)"),
    "cf": re.compile(
        r"(\d{1,10}):(show|violation|country|month|perpetrator|legal_aid|outcome|region|"
        r"noregion|done)"
    ),
    "cv": re.compile(
        r"(\d{1,10}):(violation|country|month|perpetrator|legal_aid|outcome):([A-Za-z0-9_-]{1,24})"
    ),
}


@dataclass(frozen=True)
class Callback:
    kind: str
    args: tuple[str, ...]

    @property
    def arg(self) -> str:
        return self.args[0]


def encode(kind: str, *args: object) -> str:
    data = ":".join([VERSION + kind, *map(str, args)])
    if parse(data) is None:
        raise ValueError(f"callback data does not fit its schema: {data!r}")
    return data


def parse(data: str | None) -> Callback | None:
    """The callback, or None for anything stale, foreign or forged."""
    # ASCII only: `\d` in the schema also matches other scripts' digits ("၂", which int()
    # reads as 2), so a forged "1svy:၂:multi" parsed as survey 2 (found by tests/test_fuzz.py).
    if not data or len(data) > 64 or not data.isascii() or not data.startswith(VERSION):
        return None
    kind, _, rest = data[len(VERSION) :].partition(":")
    pattern = _SCHEMA.get(kind)
    match = pattern.fullmatch(rest) if pattern else None
    if match is None:
        return None
    return Callback(kind, match.groups())


def pattern_for(kind: str, *first: str) -> Callable[[object], bool]:
    """A CallbackQueryHandler pattern: only well-formed payloads of this kind (and, if given,
    with these first arguments) match, so anything else falls through to the stale-button
    handler."""

    def matches(data: object) -> bool:
        callback = parse(data) if isinstance(data, str) else None
        return (
            callback is not None and callback.kind == kind and callback.args[: len(first)] == first
        )

    return matches
