"""Running a survey from its card: send it to subscribers, post it as polls in the channels,
read its results, close it. Each is one call to bot/survey_decisions.py (or a read), then the
card again with what happened."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update

from bot import survey_decisions
from bot.callbacks import SurveyAction, encode
from bot.services import survey_runs, surveys
from bot.services.staff import StaffView
from bot.survey_buttons import texts_for
from handlers.common import PeerlineContext, show
from handlers.staff_common import staff_translator
from handlers.survey_screen import language_of, show_survey


async def send(update: Update, context: PeerlineContext, member: StaffView, survey_id: int) -> None:
    _ = staff_translator(context, member)
    sent = await survey_decisions.send(context.runtime, survey_id, by=member.id)
    counts = ", ".join(f"{code.upper()} {n}" for code, n in sorted(sent.items())) or "0"
    note = _.gettext("📨 Sent to subscribers: %(counts)s.", counts=counts)
    await show_survey(update, context, member, survey_id, note=note)


async def polls(
    update: Update, context: PeerlineContext, member: StaffView, survey_id: int
) -> None:
    """Each question as an anonymous poll in every active channel of a language it has."""
    _ = staff_translator(context, member)
    done = await survey_decisions.post_polls(context.runtime, context.bot, survey_id, by=member.id)
    lines = []
    if done.posted:
        lines.append(
            _.gettext("📊 Posted in: %(channels)s.", channels=html.escape(", ".join(done.posted)))
        )
    if done.failed:
        lines.append(
            _.gettext(
                "⚠️ Could not post in: %(channels)s (see /channels).",
                channels=html.escape(", ".join(done.failed)),
            )
        )
    if not done.channels_found:
        lines.append(_.gettext("No active channel reads any of the survey's languages."))
    await show_survey(update, context, member, survey_id, note="\n".join(lines))


async def results(
    update: Update, context: PeerlineContext, member: StaffView, survey_id: int
) -> None:
    _ = staff_translator(context, member)
    async with context.runtime.transaction() as session:
        found = await survey_runs.results(session, survey_id)
    lines = [
        _.gettext(
            "📈 <b>Survey #%(id)s: results</b> (in the bot / in channels; under 5 shows as &lt;5)",
            id=survey_id,
        )
    ]
    for result in found:
        texts = texts_for(result.question, language_of(member))
        lines.append(f"\n<b>{result.question.position}. {html.escape(texts['q'])}</b>")
        for index, option in enumerate(texts["options"]):
            lines.append(
                f"• {html.escape(option)}: {html.escape(surveys.shown(result.total(index)))} "
                f"({html.escape(surveys.shown(result.in_bot[index]))} / "
                f"{html.escape(surveys.shown(result.in_channels[index]))})"
            )
    back = [
        [
            Button(
                "↩️ " + _.gettext("Back"),
                callback_data=encode(SurveyAction(survey_id=survey_id, action="show")),
            )
        ]
    ]
    await show(update, context, "\n".join(lines), Keyboard(back))


async def close(
    update: Update, context: PeerlineContext, member: StaffView, survey_id: int
) -> None:
    """No more answers in the bot; the channel polls are stopped (their final totals kept)."""
    _ = staff_translator(context, member)
    await survey_decisions.close(context.runtime, context.bot, survey_id, by=member.id)
    await show_survey(update, context, member, survey_id, note=_.gettext("The survey is closed."))
