"""Logging policy: no message text, no Telegram ids, no names, no token, at any log level.

Two layers, because either alone leaks:

- Levels. Third-party libraries log exactly those at DEBUG (python-telegram-bot prints every
  API call's parameters, aiosqlite every SQL parameter) and httpx prints request URLs, which
  contain the bot token, at INFO. Their levels are pinned here, whatever PEERLINE_LOG_LEVEL says.
- A filter on every handler (`Redactor`). A level cannot hide what a library logs at CRITICAL:
  python-telegram-bot logs an update it cannot parse whole ("Received data was: {...
  'first_name': ...}") at CRITICAL, from the webhook and from getUpdates. A filter on a
  handler sees every record that reaches it, whatever logger it came from (a filter on a logger
  would miss records propagated from its children), so it is the one place that catches all.

The filter works on the rendered text and drops what it cannot make safe: a record that looks
like an update payload (a dict or a Telegram object's repr with a name, username or text field)
is replaced by one line saying so, and runs of digits long enough to be a Telegram id, bot
tokens and the webhook's secret path are masked everywhere, tracebacks included.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import IO

PINNED = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "aiosqlite": logging.INFO,
    "asyncpg": logging.INFO,
    "sqlalchemy": logging.WARNING,
    "tornado.access": logging.WARNING,  # webhook access lines carry the secret path
    "alembic": logging.WARNING,
}

# Fields of the Bot API that carry who someone is or what they wrote. Matched as a key of a
# dict or JSON object ('first_name': / "first_name":) or a keyword of a repr (first_name=).
_PAYLOAD_FIELDS = (
    "first_name|last_name|username|text|caption|phone_number|language_code|"
    "from|from_user|chat|contact|message|callback_query|edited_message|my_chat_member|"
    "update_id|user_id|chat_id|sender_chat"
)
_PAYLOAD = re.compile(rf"""(['"]({_PAYLOAD_FIELDS})['"]\s*:|\b({_PAYLOAD_FIELDS})=)""")
_TOKEN = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}")  # a bot token (also inside a URL)
_WEBHOOK_PATH = re.compile(r"tg-[0-9a-f]{16,}")  # see Keys.webhook_path
# Telegram user ids have 5 to 10+ digits; chat ids of groups start with -100. Shorter numbers
# (counts, internal row ids, ports, line numbers in tracebacks) stay readable.
_LONG_NUMBER = re.compile(r"(?<![\w.])-?\d{6,}(?![\w.])")

_PLACEHOLDER = re.compile(r"%(\([^)]*\))?[-#0 +]*\d*(\.\d+)?[sdrifxXeEgGc]")
REDACTED_PAYLOAD = "[redacted: the record carried a Telegram payload (names, ids or text)]"


def redact(text: str) -> str:
    """The text with tokens, the webhook path and id-like numbers masked; a payload dump is
    replaced as a whole, since a name or a message text cannot be recognised on its own."""
    if _PAYLOAD.search(text):
        return REDACTED_PAYLOAD
    text = _TOKEN.sub("[token]", text)
    text = _WEBHOOK_PATH.sub("tg-[path]", text)
    return _LONG_NUMBER.sub("[number]", text)


class Redactor(logging.Filter):
    """Rewrites every record into a safe one (it never drops a record: an operator must still
    see that something happened, just not to whom)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "peerline_redacted", False):  # several handlers share one record
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format string: keep the template only
            message = str(record.msg)
        safe = redact(message)
        if safe == REDACTED_PAYLOAD and record.args and isinstance(record.msg, str):
            # Keep the library's own words ("Received data was: %r") and drop only the values,
            # so the operator still learns what happened.
            template = _PLACEHOLDER.sub("<redacted>", record.msg)
            if not _PAYLOAD.search(template):
                safe = redact(template)
        record.msg, record.args = safe, None
        if record.exc_info:
            # The traceback's last line is the exception's message, which may quote the
            # payload (a KeyError on a field, a parse error with the value): rendered and
            # redacted here, and exc_info removed so no formatter renders the raw one again.
            rendered = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = _redact_lines(rendered)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = _redact_lines(record.exc_text)
        if record.stack_info:
            record.stack_info = _redact_lines(record.stack_info)
        record.peerline_redacted = True
        return True


def _redact_lines(text: str) -> str:
    """Line by line, so one payload line in a traceback does not hide the whole traceback."""
    return "\n".join(redact(line) for line in text.splitlines())


def install_redaction(root: logging.Logger | None = None) -> None:
    """Put the filter on every handler of the root logger and of any other logger that has
    handlers of its own (idempotent)."""
    loggers = [root or logging.getLogger()]
    if root is None:
        loggers += [
            logger
            for logger in logging.Logger.manager.loggerDict.values()
            if isinstance(logger, logging.Logger) and logger.handlers
        ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, Redactor) for f in handler.filters):
                handler.addFilter(Redactor())


def pin_library_levels() -> None:
    for name, level in PINNED.items():
        logging.getLogger(name).setLevel(level)


def configure_logging(level: str, *, stream: IO[str] | None = None) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=stream
    )
    pin_library_levels()
    install_redaction()
