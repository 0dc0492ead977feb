"""Use cases of running a survey, each doing all its side effects: sending it to subscribers,
posting its questions as anonymous polls in the channels, closing it (the channel polls are
stopped and their final totals kept). The handlers only parse the press, call one of these
and render what they return.

Telegram is asked (a poll posted or stopped) outside any transaction, and each answer is
recorded in its own short one, so a slow or failing channel holds nothing back.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

from bot.runtime import Runtime
from bot.services import channels, survey_runs, surveys
from bot.services.surveys import SurveyError, SurveyView
from bot.survey_buttons import answer_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollsPosted:
    """Where the survey's polls went: channel titles posted in, and those that refused."""

    posted: tuple[str, ...]
    failed: tuple[str, ...]
    channels_found: bool  # any active channel reads one of the survey's languages


def subscriber_messages(runtime: Runtime, view: SurveyView, language: str) -> list[dict[str, Any]]:
    """What a subscriber gets: a short intro, then each question with its answer buttons."""
    _ = runtime.i18n.get(language)
    messages: list[dict[str, Any]] = [
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


async def send(runtime: Runtime, survey_id: int, *, by: int) -> dict[str, int]:
    """Send the survey to every subscriber who reads a language all its questions have (one
    transaction; the survey opens). Returns readers per language; SurveyError says why not."""
    async with runtime.transaction() as session:
        return await survey_runs.send_to_subscribers(
            session,
            runtime.keys,
            survey_id,
            messages=lambda view, language: subscriber_messages(runtime, view, language),
            by=by,
        )


async def post_polls(runtime: Runtime, bot: Bot, survey_id: int, *, by: int) -> PollsPosted:
    """Each question as an anonymous poll in every active channel of a language it has."""
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
    posted: list[str] = []
    failed: list[str] = []
    for channel, chat_id in targets:
        for q in view.questions:
            texts = q.texts[channel.language or ""]
            try:
                message = await bot.send_poll(
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
            if message.poll is None:  # Telegram answers a sendPoll with the poll
                continue
            async with runtime.transaction() as session:
                await survey_runs.record_poll(
                    session,
                    survey_id,
                    q.id,
                    channel_id=channel.id,
                    poll_id=message.poll.id,
                    message_id=message.message_id,
                    by=by,
                )
        else:
            posted.append(channel.title)
    return PollsPosted(tuple(posted), tuple(failed), bool(targets))


async def close(runtime: Runtime, bot: Bot, survey_id: int, *, by: int) -> None:
    """No more answers in the bot; the channel polls are stopped (their final totals kept)."""
    async with runtime.transaction() as session:
        await survey_runs.close(session, survey_id, by=by)
        polls = [
            (message_id, await channels.chat_id(session, runtime.keys, channel_id))
            for _question_id, channel_id, message_id in await survey_runs.polls_of(
                session, survey_id
            )
            if channel_id is not None
        ]
    for message_id, chat_id in polls:
        try:
            final = await bot.stop_poll(chat_id, message_id)
        except TelegramError as exc:
            log.info("survey poll not stopped: %s", type(exc).__name__)
            continue
        async with runtime.transaction() as session:
            await survey_runs.update_poll(session, final.id, [o.voter_count for o in final.options])
