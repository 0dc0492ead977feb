"""Channel admins run surveys: /survey writes one (questions in one or more languages, single
or multiple choice), then sends it to subscribers and/or posts each question as an anonymous
Telegram poll in the channels of its language; /surveys lists them with their results, where
any count under 5 shows as "<5"."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
)

from bot import awaiting
from bot.callbacks import encode, parse, pattern_for
from bot.i18n import Translator
from bot.services import channels, staff, surveys
from bot.services.staff import StaffView
from bot.services.surveys import SurveyError, SurveyView
from handlers.common import PRIVATE_MESSAGE, PeerlineContext, answer_query, show
from handlers.posts_common import require_poster
from handlers.staff_common import staff_translator
from handlers.survey_common import answer_rows, texts_for

log = logging.getLogger(__name__)


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
            [Button("➕ " + _.gettext("Add a question"), callback_data=encode("svy", sid, "add"))]
        )
        for q in view.questions:
            rows.append(
                [
                    Button(
                        f"{q.position}: "
                        + (_.gettext("several answers") if q.multiple else _.gettext("one answer"))
                        + " ⇄",
                        callback_data=encode("svy", sid, "multi", q.id),
                    ),
                    Button(f"🗑 {q.position}", callback_data=encode("svy", sid, "drop", q.id)),
                ]
            )
    if view.status != surveys.CLOSED and view.questions:
        rows.append(
            [
                Button(
                    "📨 " + _.gettext("Send to subscribers"),
                    callback_data=encode("svy", sid, "send"),
                ),
                Button(
                    "📊 " + _.gettext("Polls in channels"),
                    callback_data=encode("svy", sid, "polls"),
                ),
            ]
        )
    if view.status != surveys.DRAFT:
        rows.append(
            [Button("📈 " + _.gettext("Results"), callback_data=encode("svy", sid, "results"))]
        )
    if view.status == surveys.OPEN:
        rows.append([Button("🔒 " + _.gettext("Close"), callback_data=encode("svy", sid, "close"))])
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


def _language(member: StaffView) -> str:
    return member.languages[0] if member.languages else "en"


async def _show_survey(
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
    await show(update, context, *survey_screen(_, view, _language(member), note), new=new)


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
        first = texts_for(view.questions[0], _language(member))["q"] if view.questions else "…"
        rows.append(
            [
                Button(
                    f"#{view.id} {status_name(_, view.status)} · {first[:40]}",
                    callback_data=encode("svy", view.id, "show"),
                )
            ]
        )
    await show(update, context, _.gettext("<b>Surveys</b>"), Keyboard(rows))


async def survey_action(update: Update, context: PeerlineContext) -> None:
    member = await require_poster(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    callback = parse(update.callback_query.data)
    survey_id, action, question_id = int(callback.args[0]), callback.args[1], callback.args[2]
    runtime = context.runtime
    try:
        if action == "show":
            await _show_survey(update, context, member, survey_id)
        elif action == "add":
            async with runtime.transaction() as session:
                view = await surveys.get(session, survey_id)
                if view is None or view.status != surveys.DRAFT:
                    raise SurveyError("not_found" if view is None else f"status_{view.status}")
                await staff.set_awaiting(session, member.id, awaiting.SurveyQuestion(survey_id))
            back = [
                [Button("↩️ " + _.gettext("Back"), callback_data=encode("svy", survey_id, "show"))]
            ]
            await show(update, context, question_prompt(_, survey_id), Keyboard(back))
        elif action in ("multi", "drop") and question_id:
            async with runtime.transaction() as session:
                if action == "multi":
                    await surveys.toggle_multiple(session, survey_id, int(question_id))
                else:
                    await surveys.remove_question(session, survey_id, int(question_id))
            await _show_survey(update, context, member, survey_id)
        elif action == "send":
            await _send(update, context, member, survey_id)
        elif action == "polls":
            await _polls(update, context, member, survey_id)
        elif action == "results":
            await _results(update, context, member, survey_id)
        elif action == "close":
            await _close(update, context, member, survey_id)
    except SurveyError as exc:
        await answer_query(update, context, error_text(_, exc), alert=True)


def subscriber_messages(context: PeerlineContext, view: SurveyView, language: str) -> list[dict]:  # type: ignore[type-arg]
    """What a subscriber gets: a short intro, then each question with its answer buttons."""
    _ = context.runtime.i18n.get(language)
    messages: list[dict] = [  # type: ignore[type-arg]
        {
            "text": _.gettext(
                "📊 <b>A short anonymous survey</b> from the organisation. Answer with the "
                "buttons; only the totals are kept, never who answered what."
            ),
            "parse_mode": "HTML",
        }
    ]
    for q in view.questions:
        messages.append(
            {
                "text": f"<b>{html.escape(q.texts[language]['q'])}</b>",
                "parse_mode": "HTML",
                "reply_markup": {"inline_keyboard": answer_rows(_, q, language, 0)},
            }
        )
    return messages


async def _send(
    update: Update, context: PeerlineContext, member: StaffView, survey_id: int
) -> None:
    runtime = context.runtime
    _ = staff_translator(context, member)
    async with runtime.transaction() as session:
        sent = await surveys.send_to_subscribers(
            session,
            runtime.keys,
            survey_id,
            messages=lambda view, language: subscriber_messages(context, view, language),
            by=member.id,
        )
    counts = ", ".join(f"{code.upper()} {n}" for code, n in sorted(sent.items())) or "0"
    note = _.gettext("📨 Sent to subscribers: %(counts)s.", counts=counts)
    await _show_survey(update, context, member, survey_id, note=note)


async def _polls(
    update: Update, context: PeerlineContext, member: StaffView, survey_id: int
) -> None:
    """Each question as an anonymous poll in every active channel of a language it has."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    async with runtime.transaction() as session:
        view = await surveys.get(session, survey_id)
        if view is None:
            raise SurveyError("not_found")
        if view.status == surveys.CLOSED:
            raise SurveyError("status_closed")
        if not view.questions:
            raise SurveyError("no_questions")
        targets = [
            (c, await channels.chat_id(session, runtime.keys, c.id))
            for c in await channels.list_channels(session, active_only=True)
            if c.language in view.languages
        ]
    posted, failed = [], []
    for channel, chat_id in targets:
        for q in view.questions:
            texts = q.texts[channel.language or ""]
            try:
                message = await context.bot.send_poll(
                    chat_id,
                    texts["q"],
                    texts["options"],
                    is_anonymous=True,
                    allows_multiple_answers=q.multiple,
                )
            except TelegramError as exc:
                log.warning("survey poll not posted: %s", type(exc).__name__)
                failed.append(channel.title)
                break
            async with runtime.transaction() as session:
                await surveys.record_poll(
                    session,
                    survey_id,
                    q.id,
                    channel_id=channel.id,
                    poll_id=message.poll.id,
                    message_id=message.message_id,
                    by=member.id,
                )
        else:
            posted.append(channel.title)
    lines = []
    if posted:
        lines.append(
            _.gettext("📊 Posted in: %(channels)s.", channels=html.escape(", ".join(posted)))
        )
    if failed:
        lines.append(
            _.gettext(
                "⚠️ Could not post in: %(channels)s (see /channels).",
                channels=html.escape(", ".join(failed)),
            )
        )
    if not targets:
        lines.append(_.gettext("No active channel reads any of the survey's languages."))
    await _show_survey(update, context, member, survey_id, note="\n".join(lines))


async def _results(
    update: Update, context: PeerlineContext, member: StaffView, survey_id: int
) -> None:
    _ = staff_translator(context, member)
    async with context.runtime.transaction() as session:
        found = await surveys.results(session, survey_id)
    lines = [
        _.gettext(
            "📈 <b>Survey #%(id)s: results</b> (in the bot / in channels; under 5 shows as &lt;5)",
            id=survey_id,
        )
    ]
    for result in found:
        texts = texts_for(result.question, _language(member))
        lines.append(f"\n<b>{result.question.position}. {html.escape(texts['q'])}</b>")
        for index, option in enumerate(texts["options"]):
            lines.append(
                f"• {html.escape(option)}: {html.escape(surveys.shown(result.total(index)))} "
                f"({html.escape(surveys.shown(result.in_bot[index]))} / "
                f"{html.escape(surveys.shown(result.in_channels[index]))})"
            )
    back = [[Button("↩️ " + _.gettext("Back"), callback_data=encode("svy", survey_id, "show"))]]
    await show(update, context, "\n".join(lines), Keyboard(back))


async def _close(
    update: Update, context: PeerlineContext, member: StaffView, survey_id: int
) -> None:
    """No more answers in the bot; the channel polls are stopped (their final totals kept)."""
    runtime = context.runtime
    _ = staff_translator(context, member)
    async with runtime.transaction() as session:
        await surveys.close(session, survey_id, by=member.id)
        polls = [
            (poll, await channels.chat_id(session, runtime.keys, poll[1]))
            for poll in await surveys.polls_of(session, survey_id)
            if poll[1] is not None
        ]
    for (_question_id, _channel_id, message_id), chat_id in polls:
        try:
            final = await context.bot.stop_poll(chat_id, message_id)
        except TelegramError as exc:
            log.info("survey poll not stopped: %s", type(exc).__name__)
            continue
        async with runtime.transaction() as session:
            await surveys.update_poll(session, final.id, [o.voter_count for o in final.options])
    await _show_survey(update, context, member, survey_id, note=_.gettext("The survey is closed."))


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
    await _show_survey(
        update, context, member, survey_id, note=_.gettext("✅ Question added."), new=True
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("survey", new_survey, filters=PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("surveys", list_surveys, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(survey_action, pattern=pattern_for("svy")))
