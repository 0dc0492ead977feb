"""Telegram-facing flows. `register` adds them in an order that matters (see comments)."""

from __future__ import annotations

from telegram.ext import Application

from handlers import directory, errors, fallback, menu, onboarding, settings, text_input


def register(app: Application) -> None:
    # Commands and typed buttons first; each callback handler only matches its own kind.
    onboarding.register(app)
    menu.register(app)
    directory.register(app)
    settings.register(app)
    # Free text after commands, so "/help" is never read as a city name.
    text_input.register(app)
    # Last: whatever nothing above handled gets a polite answer.
    fallback.register(app)
    app.add_error_handler(errors.on_error)
