"""Screen parts shared by many flows: the navigation row, and how a conversation and its
client are named to consultants and clients. Each returns text or (text, keyboard) built from
the translator; no literal user-facing text lives in the flow modules.

The client's menus are in menu_screens.py, their settings and first choices in
settings_screens.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard

from bot import guide
from bot.callbacks import HideChat, OpenMenu, encode
from bot.i18n import N_, Translator
from bot.services import pseudonyms
from handlers.common import escape

Screen = tuple[str, Keyboard]
# The screen with first aid for an overdose: one tap from every other screen.
FIRST_AID = "overdose"


def nav_row(_: Translator, back_to: str | None, *, first_aid: bool = True) -> list[Button]:
    """Back, the main menu and, from every screen outside the overdose section, first aid
    in one tap."""
    row = []
    if back_to is not None:
        row.append(Button("‹ " + _.gettext("Back"), callback_data=encode(OpenMenu(node=back_to))))
    row.append(Button("☰ " + _.gettext("Main menu"), callback_data=encode(OpenMenu(node="main"))))
    if first_aid:
        row.append(first_aid_button(_))
    return row


def main_menu_button(_: Translator) -> Keyboard:
    return Keyboard(
        [[Button("☰ " + _.gettext("Main menu"), callback_data=encode(OpenMenu(node="main")))]]
    )


def clear_chat_button(_: Translator) -> Button:
    """Quick hide (handlers/hide.py): one tap, no confirmation, nothing left behind."""
    return Button("🧹 " + _.gettext("Clear this chat"), callback_data=encode(HideChat(when="now")))


def first_aid_button(_: Translator) -> Button:
    return Button("🆘 " + _.gettext("Overdose"), callback_data=encode(OpenMenu(node=FIRST_AID)))


# --- Consultation ------------------------------------------------------------------------

ROLE_NAMES = guide.ROLE_NAMES  # one list, with the command guide
TOPIC_NAMES = {
    "ost": N_("OST"),
    "hiv": N_("HIV"),
    "tb": N_("TB"),
    "hepatitis": N_("hepatitis"),
    "testing": N_("testing"),
    "legal": N_("legal"),
    "psychologist": N_("psychological support"),
    "humanitarian": N_("humanitarian aid"),
    "general": N_("general question"),
}
OUTCOME_NAMES = {
    "information": N_("information given"),
    "referred": N_("referred to a service"),
    "legal_aid": N_("legal aid"),
    "humanitarian": N_("humanitarian aid arranged"),
    "no_answer": N_("no answer from the client"),
    "other": N_("other"),
}
# A referral's follow-up answers (bot/services/followup.py), as reports name them; "referred"
# counts the referrals themselves.
FOLLOW_UP_NAMES = {
    "referred": N_("referred"),
    "helped": N_("it helped"),
    "not_helped": N_("went, it did not help"),
    "not_reached": N_("did not get there"),
    "stop": N_("asked not to be asked again"),
}


def client_name(_: Translator, pseudonym: str | None) -> str:
    """ "Blue Fox 42" in the reader's language (bot/services/pseudonyms.py); a client named
    before word pseudonyms keeps "Client 482113"."""
    return pseudonyms.display(_, pseudonym)


def client_header(_: Translator, pseudonym: str | None) -> str:
    return "👤 <b>" + escape(client_name(_, pseudonym)) + "</b>"


class NamedConversation(Protocol):
    """What these lines need of a conversation (bot/services/queue.py's ConversationView)."""

    @property
    def topic(self) -> str: ...
    @property
    def pseudonym(self) -> str | None: ...
    @property
    def language(self) -> str: ...
    @property
    def country(self) -> str: ...


def conversation_line(_: Translator, conversation: NamedConversation) -> str:
    """ "Blue Fox 42 · OST · ru · UA" for consultants: never anything that identifies."""
    topic = _.gettext(TOPIC_NAMES.get(conversation.topic, TOPIC_NAMES["general"]))
    parts = [client_name(_, conversation.pseudonym), topic, conversation.language]
    parts.append(conversation.country)
    return escape(" · ".join(parts))


# On a "which conversation?" button: enough of the client's last line to recognise it.
LAST_LINE_MAX = 28


def conversation_choice(
    _: Translator, conversation: NamedConversation, last_line: str | None
) -> str:
    """ "Blue Fox 42 · OST · “I need methadone, whe…”" for a button that picks a
    conversation."""
    topic = _.gettext(TOPIC_NAMES.get(conversation.topic, TOPIC_NAMES["general"]))
    label = f"{client_name(_, conversation.pseudonym)} · {topic}"
    if last_line:
        if len(last_line) > LAST_LINE_MAX:
            last_line = last_line[: LAST_LINE_MAX - 1].rstrip() + "…"
        label += " · “" + last_line + "”"
    return label


def holding_line(_: Translator, active: Sequence[NamedConversation]) -> str:
    """Where a consultant's next plain message goes, said after every take, transfer, close
    and release: to their only client, or (several) to the one they reply to, else asked."""
    if not active:
        return ""
    if len(active) == 1:
        return _.gettext(
            "Now writing to %(who)s: what you write here goes to them, anonymously.",
            who=client_name(_, active[0].pseudonym),
        )
    return _.ngettext(
        "You hold %(n)s conversation: reply to a client's message to answer them (or I will ask).",
        "You hold %(n)s conversations: reply to a client's message to answer them (or I will ask).",
        len(active),
    )
