"""What a client is told about their request to a human: queued (position, wait, who is on
duty, another language offered), or already open."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard

from bot.callbacks import ContinueInLanguage, EndConversation, MakeUrgent, encode
from bot.i18n import N_, Translator
from handlers import screens
from handlers.common import PeerlineContext
from handlers.intake import Opened

# "in Russian" as it fits "who writes ..." / "continue ..." in each language.
IN_LANGUAGE = {
    "ru": N_("in Russian"),
    "uk": N_("in Ukrainian"),
    "kk": N_("in Kazakh"),
    "en": N_("in English"),
}
YES_LANGUAGE = {
    "ru": N_("Yes, Russian is fine"),
    "uk": N_("Yes, Ukrainian is fine"),
    "kk": N_("Yes, Kazakh is fine"),
    "en": N_("Yes, English is fine"),
}


def already_open(_: Translator, conversation_id: int) -> screens.Screen:
    text = _.gettext("You already have an open request. Write here to add to it, or end it below.")
    end = Button(
        _.gettext("End the conversation"),
        callback_data=encode(EndConversation(conversation_id=conversation_id)),
    )
    return text, Keyboard([[end], screens.nav_row(_, None)])


def queued_screen(_: Translator, context: PeerlineContext, opened: Opened) -> screens.Screen:
    text = queued_text(_, opened.position, opened.estimate, opened.staffed, opened.hours)
    conversation = opened.conversation
    assert conversation is not None
    rows = []
    if opened.alternatives:
        text += "\n\n" + _.gettext(
            "Nobody who writes %(own)s is on duty right now, but a consultant who writes "
            "%(other)s is. Would you like to continue %(other)s?",
            own=_.gettext(IN_LANGUAGE[conversation.language]),
            other=" / ".join(_.gettext(IN_LANGUAGE[lang]) for lang in opened.alternatives),
        )
        for lang in opened.alternatives:
            rows.append(
                [
                    Button(
                        _.gettext(YES_LANGUAGE[lang]),
                        callback_data=encode(
                            ContinueInLanguage(conversation_id=conversation.id, language=lang)
                        ),
                    )
                ]
            )
        rows.append(
            [
                Button(
                    _.gettext("No, I will wait"),
                    callback_data=encode(
                        ContinueInLanguage(conversation_id=conversation.id, language="no")
                    ),
                )
            ]
        )
    if opened.may_write:
        text += "\n\n" + _.gettext(
            "Nobody on duty right now writes %(own)s: the consultant may answer %(other)s.",
            own=_.gettext(IN_LANGUAGE[conversation.language]),
            other=" / ".join(_.gettext(IN_LANGUAGE[lang]) for lang in opened.may_write),
        )
    rows.append([screens.first_aid_button(_)])
    if not conversation.urgent:
        rows.append(
            [
                Button(
                    "🚨 " + _.gettext("It is urgent now"),
                    callback_data=encode(MakeUrgent(conversation_id=conversation.id)),
                )
            ]
        )
    rows.append(
        [
            Button(
                _.gettext("Cancel the request"),
                callback_data=encode(EndConversation(conversation_id=conversation.id)),
            )
        ]
    )
    return text, Keyboard(rows)


def queued_text(
    _: Translator, position: int | None, estimate: int | None, staffed: bool, hours: str
) -> str:
    lines = [_.gettext("Your request is in the queue (number %(position)s).", position=position)]
    if not staffed:
        lines.append(
            _.gettext(
                "Nobody is on duty right now. Your request is saved: a consultant will answer "
                "when someone is back (usually %(hours)s).",
                hours=hours,
            )
            if hours
            else _.gettext(
                "Nobody is on duty right now. Your request is saved: a consultant will answer "
                "when someone is back."
            )
        )
    elif estimate is not None:
        lines.append(
            _.ngettext(
                "Usual wait: about %(n)s minute.", "Usual wait: about %(n)s minutes.", estimate
            )
        )
    lines.append(
        _.gettext(
            "Write your question here: your messages go to the consultant anonymously. "
            "You can add more at any time."
        )
    )
    return "\n".join(lines)
