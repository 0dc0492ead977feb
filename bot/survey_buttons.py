"""A survey question's texts and answer buttons, as Bot API JSON: the same buttons go out to
subscribers (bot/survey_decisions.py) and are redrawn when a reader toggles an answer
(handlers/survey_answer.py)."""

from __future__ import annotations

from typing import Any

from bot.callbacks import SurveyOption, SurveySend, SurveyToggle, encode
from bot.i18n import Translator
from bot.services import surveys


def texts_for(question: surveys.Question, language: str) -> dict[str, Any]:
    """The question in a language, or in the first one it has."""
    return question.texts.get(language) or next(iter(question.texts.values()))


def answer_rows(
    _: Translator, question: surveys.Question, language: str, mask: int
) -> list[list[dict[str, str]]]:
    """Answer buttons: one per option; multiple choice: toggles (☑️) and a "send" button."""
    options = texts_for(question, language)["options"]
    if not question.multiple:
        return [
            [
                {
                    "text": option,
                    "callback_data": encode(SurveyOption(question_id=question.id, option=index)),
                }
            ]
            for index, option in enumerate(options)
        ]
    rows = [
        [
            {
                "text": ("☑️ " if mask & (1 << index) else "▫️ ") + option,
                "callback_data": encode(
                    SurveyToggle(question_id=question.id, mask=mask ^ (1 << index))
                ),
            }
        ]
        for index, option in enumerate(options)
    ]
    rows.append(
        [
            {
                "text": "📨 " + _.gettext("Send my answer"),
                "callback_data": encode(SurveySend(question_id=question.id, mask=mask)),
            }
        ]
    )
    return rows
