"""Telegram-facing flows. `register` adds them in an order that matters (see comments)."""

from __future__ import annotations

from telegram.ext import Application

from handlers import (
    canned_answers,
    care,
    cases,
    channel_membership,
    channels,
    consult,
    consultant,
    consultant_close,
    consultant_notes,
    consultant_refer,
    consultant_relay,
    consultant_transfer,
    dashboard,
    desk,
    directory,
    dispatch,
    door,
    edits,
    errors,
    fallback,
    followup,
    forum,
    hide,
    humanitarian,
    menu,
    moderation,
    onboarding,
    post_button,
    post_compose,
    post_manage,
    post_ready,
    post_where,
    practice,
    reminders,
    settings,
    staff_admin,
    staff_desk,
    staff_tools,
    stories,
    story_review,
    subscriptions,
    survey_answer,
    surveys,
    whisper,
)


def register(app: Application) -> None:
    # Groups run in order, and a handler that raises ApplicationHandlerStop ends the update:
    # -100 the front door: who is writing, resolved once; what their roles may not do is
    #      refused here, for every command and button (bot/permissions.py);
    #   -3 an invitation link is not a client (/start inv_…); supervisors' /block family;
    #   -2 a team member's bare /start (their desk) and /help (their commands), not a client's;
    #   -1 every plain private message, by one dispatcher with a documented precedence
    #      (handlers/dispatch.py: crisis > conversation > staff input > client form > menus);
    #    0 commands and buttons. Each callback handler only matches its own kind.
    door.register(app)
    dispatch.register(app)
    stories.register(app)
    post_compose.register(app)
    post_button.register(app)
    post_where.register(app)
    post_ready.register(app)
    surveys.register(app)
    staff_admin.register(app)
    staff_desk.register(app)
    practice.register(app)
    consultant_relay.register(app)
    consult.register(app)
    humanitarian.register(app)
    followup.register(app)
    consultant.register(app)
    consultant_close.register(app)
    cases.register(app)
    consultant_notes.register(app)
    consultant_transfer.register(app)
    consultant_refer.register(app)
    desk.register(app)
    dashboard.register(app)
    whisper.register(app)
    care.register(app)
    canned_answers.register(app)
    staff_tools.register(app)
    moderation.register(app)
    forum.register(app)
    edits.register(app)
    channels.register(app)
    channel_membership.register(app)
    reminders.register(app)
    story_review.register(app)
    survey_answer.register(app)
    post_manage.register(app)
    hide.register(app)
    onboarding.register(app)
    menu.register(app)
    directory.register(app)
    settings.register(app)
    subscriptions.register(app)
    # Last: whatever nothing above handled gets a polite answer.
    fallback.register(app)
    app.add_error_handler(errors.on_error)
