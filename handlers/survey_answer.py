"""A subscriber answers a survey with buttons (a multiple-choice question: toggles, then
"send"); Telegram's totals for our channel polls arrive as `poll` updates. Only counters
change: nothing records who chose what."""

from __future__ import annotations

import html

from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, PollHandler

from bot.callbacks import SurveyOption, SurveySend, SurveyToggle, parse_as, pattern_for
from bot.services import survey_runs, surveys
from bot.survey_buttons import answer_rows, texts_for
from handlers.common import (
    PeerlineContext,
    answer_query,
    callback_of,
    edit_screen,
    load_client,
    query_of,
    screen_of,
    translator,
)


async def answer(update: Update, context: PeerlineContext) -> None:
    """svo: one option; svs: the options of a multiple-choice question (a bit mask)."""
    one = parse_as(query_of(update).data, SurveyOption)
    if one is not None:
        question_id, options = one.question_id, [one.option]
    else:
        sent = callback_of(update, SurveySend)
        question_id, options = sent.question_id, [i for i in range(10) if sent.mask & (1 << i)]
    client = await load_client(update, context)
    _ = translator(context, client)
    if not options:
        await answer_query(update, context, _.gettext("Choose at least one answer."))
        return
    runtime = context.runtime
    async with runtime.transaction() as session:
        outcome = await survey_runs.answer(
            session, runtime.keys, client_key=client.key, question_id=question_id, options=options
        )
        found = await surveys.question(session, question_id)
    if outcome == "again":
        await answer_query(
            update, context, _.gettext("You have already answered this question."), alert=True
        )
        return
    if outcome == "counted":
        note = _.gettext("✅ Thank you: your answer is counted. Only totals are kept.")
    elif outcome == "closed":
        note = _.gettext("This survey is closed.")
    else:
        note = _.gettext("This question is no longer available.")
    await answer_query(update, context)
    title = ""
    if found is not None:
        title = f"<b>{html.escape(texts_for(found[0], client.language or 'en')['q'])}</b>\n\n"
    await edit_screen(update, context, title + note, parse_mode="HTML")


async def toggle(update: Update, context: PeerlineContext) -> None:
    """A multiple-choice toggle: redraw the buttons with the new choice (nothing is stored
    until "send": the choice so far travels in the buttons)."""
    callback = callback_of(update, SurveyToggle)
    question_id, mask = callback.question_id, callback.mask
    client = await load_client(update, context)
    _ = translator(context, client)
    async with context.runtime.transaction() as session:
        found = await surveys.question(session, question_id)
    if found is None or found[1] != surveys.OPEN or not found[0].multiple:
        await answer_query(update, context, _.gettext("This survey is closed."), alert=True)
        return
    await answer_query(update, context)
    language = client.language or "en"
    rows = Keyboard.de_json({"inline_keyboard": answer_rows(_, found[0], language, mask)}, None)
    screen = screen_of(update)
    if screen is not None:
        await screen.edit_reply_markup(rows)
        return
    # The question's message is out of the bot's sight: ask it again with the choice so far.
    question = html.escape(texts_for(found[0], language)["q"])
    await edit_screen(update, context, f"<b>{question}</b>", parse_mode="HTML", reply_markup=rows)


async def poll_totals(update: Update, context: PeerlineContext) -> None:
    """Telegram's new totals for a poll we posted in a channel."""
    poll = update.poll
    if poll is None:  # PollHandler passes only updates with a poll
        return
    async with context.runtime.transaction() as session:
        await survey_runs.update_poll(
            session, poll.id, [option.voter_count for option in poll.options]
        )


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(answer, pattern=pattern_for(SurveyOption)))
    app.add_handler(CallbackQueryHandler(answer, pattern=pattern_for(SurveySend)))
    app.add_handler(CallbackQueryHandler(toggle, pattern=pattern_for(SurveyToggle)))
    app.add_handler(PollHandler(poll_totals))
