"""Channel admins run surveys: /survey writes one (questions in one or more languages, single
or multiple choice), then sends it to subscribers and/or posts each question as an anonymous
Telegram poll in the channels of its language (handlers/survey_run.py); /surveys lists them
with their results, where any count under 5 shows as "<5"."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import awaiting
from bot.callbacks import SurveyAction, encode, pattern_for
from bot.i18n import Translator
from bot.services import staff, surveys
from bot.services.staff import StaffView
from bot.services.surveys import SurveyError
from bot.survey_buttons import texts_for
from handlers import survey_run
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, callback_of, show
from handlers.posts_common import require_poster
from handlers.staff_common import staff_translator
from handlers.survey_screen import error_text, language_of, show_survey, status_name


async def new_survey(update: Update, context: PeerlineContext) -> None:
    """/survey: a new draft survey; the admin's next message is its first question."""
    member = await require_poster(update, context)
    if member is None:
        return
    async with context.runtime.transaction() as session:
        survey_id = await surveys.create(session, author_id=member.id)
        await staff.set_awaiting(session, member.id, awaiting.SurveyQuestion(survey_id))
    _ = staff_translator(context, member)
    await show(update, context, question_prompt(_, survey_id), new=True)


def question_prompt(_: Translator, survey_id: int) -> str:
    return _.gettext(
        "Survey #%(id)s: send a question like this, in one or more languages (readers get the "
        "language they read the bot in; every language needs the same answers, 2 to 10):\n\n"
        "ru: Носите ли вы с собой налоксон?\n- Всегда\n- Иногда\n- Никогда\n"
        "uk: Чи носите ви з собою налоксон?\n- Завжди\n- Іноді\n- Ніколи",
        id=survey_id,
    )


async def list_surveys(update: Update, context: PeerlineContext) -> None:
    """/surveys: the latest surveys."""
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    async with context.runtime.transaction() as session:
        latest = await surveys.list_surveys(session)
    if not latest:
        await show(update, context, _.gettext("No surveys yet. /survey writes one."))
        return
    rows = []
    for view in latest:
        first = texts_for(view.questions[0], language_of(member))["q"] if view.questions else "…"
        rows.append(
            [
                Button(
                    f"#{view.id} {status_name(_, view.status)} · {first[:40]}",
                    callback_data=encode(SurveyAction(survey_id=view.id, action="show")),
                )
            ]
        )
    await show(update, context, _.gettext("<b>Surveys</b>"), Keyboard(rows))


async def survey_action(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = callback_of(update, SurveyAction)
    survey_id, action, question_id = callback.survey_id, callback.action, callback.question_id
    runtime = context.runtime
    try:
        if action == "show":
            await show_survey(update, context, member, survey_id)
        elif action == "add":
            async with runtime.transaction() as session:
                view = await surveys.get(session, survey_id)
                if view is None or view.status != surveys.DRAFT:
                    raise SurveyError("not_found" if view is None else f"status_{view.status}")
                await staff.set_awaiting(session, member.id, awaiting.SurveyQuestion(survey_id))
            back = [
                [
                    Button(
                        "↩️ " + _.gettext("Back"),
                        callback_data=encode(SurveyAction(survey_id=survey_id, action="show")),
                    )
                ]
            ]
            await show(update, context, question_prompt(_, survey_id), Keyboard(back))
        elif action in ("multi", "drop") and question_id is not None:
            async with runtime.transaction() as session:
                if action == "multi":
                    await surveys.toggle_multiple(session, survey_id, question_id)
                else:
                    await surveys.remove_question(session, survey_id, question_id)
            await show_survey(update, context, member, survey_id)
        elif action == "send":
            await survey_run.send(update, context, member, survey_id)
        elif action == "polls":
            await survey_run.polls(update, context, member, survey_id)
        elif action == "results":
            await survey_run.results(update, context, member, survey_id)
        elif action == "close":
            await survey_run.close(update, context, member, survey_id)
    except SurveyError as exc:
        await answer_query(update, context, error_text(_, exc), alert=True)


async def admin_input(
    update: Update,
    context: PeerlineContext,
    member: StaffView,
    value: awaiting.SurveyQuestion,
    message: Message,
) -> None:
    """A question for the survey the admin is writing (the dispatcher decided the message is
    that, and the permissions table that they may)."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    survey_id = value.survey_id
    try:
        texts = surveys.parse_question(message.text or "")
        async with runtime.transaction() as session:
            await surveys.add_question(session, survey_id, texts)
            await staff.set_awaiting(session, member.id, None)
    except SurveyError as exc:
        await message.reply_text(error_text(_, exc))
        if exc.code == "not_found" or exc.code.startswith("status_") or exc.code == "too_many":
            async with runtime.transaction() as session:
                await staff.set_awaiting(session, member.id, None)
        return
    await show_survey(
        update, context, member, survey_id, note=_.gettext("✅ Question added."), new=True
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("survey", new_survey, filters=PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("surveys", list_surveys, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(survey_action, pattern=pattern_for(SurveyAction)))
