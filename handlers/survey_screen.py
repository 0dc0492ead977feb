"""The survey card: its questions, languages and state, with the buttons for what can be done
to it now; and the words for a survey's states and errors."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update

from bot.callbacks import SurveyAction, encode
from bot.i18n import Translator
from bot.services import surveys
from bot.services.staff import StaffView
from bot.services.surveys import SurveyError, SurveyView
from bot.survey_buttons import texts_for
from handlers.common import PeerlineContext, show
from handlers.staff_common import staff_translator


def survey_screen(
    _: Translator, view: SurveyView, language: str, note: str = ""
) -> tuple[str, Keyboard]:
    status = status_name(_, view.status)
    lines = [_.gettext("📊 <b>Survey #%(id)s</b> · %(status)s", id=view.id, status=status)]
    for q in view.questions:
        texts = texts_for(q, language)
        kind = _.gettext("several answers") if q.multiple else _.gettext("one answer")
        languages = ", ".join(code.upper() for code in q.languages)
        lines.append(f"{q.position}. [{languages}] {html.escape(texts['q'])} — {kind}")
    if not view.questions:
        lines.append(_.gettext("No questions yet."))
    elif view.languages:
        lines.append(
            _.gettext(
                "Goes to readers in: %(languages)s.",
                languages=", ".join(code.upper() for code in view.languages),
            )
        )
    else:
        lines.append(_.gettext("⚠️ No language has every question: write them all in one."))
    if note:
        lines.extend(["", note])
    sid = view.id
    rows: list[list[Button]] = []
    if view.status == surveys.DRAFT:
        rows.append(
            [
                Button(
                    "➕ " + _.gettext("Add a question"),
                    callback_data=encode(SurveyAction(survey_id=sid, action="add")),
                )
            ]
        )
        for q in view.questions:
            rows.append(
                [
                    Button(
                        f"{q.position}: "
                        + (_.gettext("several answers") if q.multiple else _.gettext("one answer"))
                        + " ⇄",
                        callback_data=encode(
                            SurveyAction(survey_id=sid, action="multi", question_id=q.id)
                        ),
                    ),
                    Button(
                        f"🗑 {q.position}",
                        callback_data=encode(
                            SurveyAction(survey_id=sid, action="drop", question_id=q.id)
                        ),
                    ),
                ]
            )
    if view.status != surveys.CLOSED and view.questions:
        rows.append(
            [
                Button(
                    "📨 " + _.gettext("Send to subscribers"),
                    callback_data=encode(SurveyAction(survey_id=sid, action="send")),
                ),
                Button(
                    "📊 " + _.gettext("Polls in channels"),
                    callback_data=encode(SurveyAction(survey_id=sid, action="polls")),
                ),
            ]
        )
    if view.status != surveys.DRAFT:
        rows.append(
            [
                Button(
                    "📈 " + _.gettext("Results"),
                    callback_data=encode(SurveyAction(survey_id=sid, action="results")),
                )
            ]
        )
    if view.status == surveys.OPEN:
        rows.append(
            [
                Button(
                    "🔒 " + _.gettext("Close"),
                    callback_data=encode(SurveyAction(survey_id=sid, action="close")),
                )
            ]
        )
    return "\n".join(lines), Keyboard(rows)


def status_name(_: Translator, status: str) -> str:
    return {
        surveys.DRAFT: _.gettext("draft"),
        surveys.OPEN: _.gettext("open"),
        surveys.CLOSED: _.gettext("closed"),
    }[status]


def error_text(_: Translator, error: SurveyError) -> str:
    texts = {
        "format": _.gettext(
            'I could not read the question. Write a line "ru: the question", then one line '
            'per answer starting with "-"; the same for other languages.'
        ),
        "twice": _.gettext("A language appears twice."),
        "option_counts": _.gettext("Every language needs the same number of answers."),
        "option_number": _.gettext("A question needs 2 to 10 answers."),
        "too_long": _.gettext(
            "Too long: a question may have 300 characters, an answer 100 (Telegram's limits)."
        ),
        "too_many": _.gettext("A survey can have at most 10 questions."),
        "no_questions": _.gettext("Add a question first."),
        "no_common_language": _.gettext("No language has every question: write them all in one."),
        "not_found": _.gettext("That survey does not exist."),
    }
    if error.code.startswith("status_"):
        return _.gettext("This survey is no longer a draft: that cannot be changed.")
    return texts.get(error.code, _.gettext("That cannot be done with this survey."))


def language_of(member: StaffView) -> str:
    return member.languages[0] if member.languages else "en"


async def show_survey(
    update: Update,
    context: PeerlineContext,
    member: StaffView,
    survey_id: int,
    *,
    note: str = "",
    new: bool = False,
) -> None:
    _ = staff_translator(context, member)
    async with context.runtime.transaction() as session:
        view = await surveys.get(session, survey_id)
    if view is None:
        await show(update, context, error_text(_, SurveyError("not_found")), new=new)
        return
    await show(update, context, *survey_screen(_, view, language_of(member), note), new=new)
