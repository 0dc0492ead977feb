"""The button a callback handler was called for, parsed and typed.

Every callback handler is registered with `bot.callbacks.pattern_for`, which matches only
well-formed payloads of its kind; a stale or forged one goes to the stale-button handler.
So inside a handler the payload always parses, and `pressed` says so to the type checker
once, instead of each handler re-checking `update.callback_query` and the parse.
"""

from __future__ import annotations

from telegram import Update

from bot.callbacks import Callback, parse


def pressed(update: Update) -> Callback:
    """The parsed data of the pressed button (its handler's pattern matched it)."""
    query = update.callback_query
    callback = parse(query.data) if query is not None else None
    assert callback is not None, "callback handlers are registered with pattern_for"
    return callback
