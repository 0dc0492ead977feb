"""Logging policy: no message text, no Telegram ids, no token, at any log level.

Third-party libraries log exactly those at DEBUG (python-telegram-bot prints every API call's
parameters, aiosqlite every SQL parameter) and httpx prints request URLs, which contain the bot
token, at INFO. Their levels are pinned here, whatever PEERLINE_LOG_LEVEL says.
"""

from __future__ import annotations

import logging

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


def pin_library_levels() -> None:
    for name, level in PINNED.items():
        logging.getLogger(name).setLevel(level)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    pin_library_levels()
