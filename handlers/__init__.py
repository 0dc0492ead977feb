"""Telegram-facing flows. `register` adds them in an order that matters (see comments)."""

from __future__ import annotations

from telegram.ext import Application

from handlers import (
    channels,
    consult,
    consultant,
    consultant_close,
    consultant_relay,
    consultant_tools,
    directory,
    edits,
    errors,
    fallback,
    followup,
    forum,
    humanitarian,
    menu,
    moderation,
    onboarding,
    post_compose,
    post_manage,
    reminders,
    settings,
    staff_admin,
    staff_tools,
    stories,
    story_review,
    subscriptions,
    survey_answer,
    surveys,
    text_input,
)


def register(app: Application) -> None:
    # Groups run in order, and a handler that raises ApplicationHandlerStop ends the update:
    # -7 a client writing an experience story (they pressed "Write my story");
    # -5 a channel admin writing a survey question;
    # -4 a channel admin writing a post (they pressed "✏️ RU": the next message is the text);
    # -3 a consultant's message is an answer to a client; an invitation link is not a client;
    # -2 a client in a conversation is talking to a person, not to the menus;
    # -1 a client filling in the humanitarian request form;
    #  0 everything else. Within group 0, commands and typed buttons first; each callback
    # handler only matches its own kind.
    stories.register(app)
    post_compose.register(app)
    surveys.register(app)
    staff_admin.register(app)
    consultant_relay.register(app)
    consult.register(app)
    humanitarian.register(app)
    followup.register(app)
    consultant.register(app)
    consultant_close.register(app)
    consultant_tools.register(app)
    staff_tools.register(app)
    moderation.register(app)
    forum.register(app)
    edits.register(app)
    channels.register(app)
    reminders.register(app)
    story_review.register(app)
    survey_answer.register(app)
    post_manage.register(app)
    onboarding.register(app)
    menu.register(app)
    directory.register(app)
    settings.register(app)
    subscriptions.register(app)
    # Free text after commands, so "/help" is never read as a city name.
    text_input.register(app)
    # Last: whatever nothing above handled gets a polite answer.
    fallback.register(app)
    app.add_error_handler(errors.on_error)
