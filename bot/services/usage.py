"""What the client-facing flows count in one call: a screen opened, an aid request sent.

Each call is its own short transaction, made after the screen is shown: a counter is worth
less than the screen it counts, so a failure here is logged and never reaches the person.
A screen opened is one statement in the usual case: what the process already wrote for the
reach marks (bot/services/reach.py `Seen`) is not read or written again."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.services import events, reach, tally
from bot.services.clients import ClientState

log = logging.getLogger(__name__)
Sessions = async_sessionmaker[AsyncSession]
# Per database (its session factory), so tests' databases and a second runtime never share.
_SEEN: weakref.WeakKeyDictionary[Sessions, reach.Seen] = weakref.WeakKeyDictionary()


async def screen_viewed(sessions: Sessions, node_id: str, client: ClientState) -> None:
    """An information screen was shown: its per-day counter, and the person counted as
    reached this month, quarter and year (bot/services/reach.py)."""
    day = events.clock[0]()
    country, language = client.country or "", client.language or ""
    seen = _SEEN.setdefault(sessions, reach.Seen())
    written: list[reach.Written] = []

    def write(session: Session) -> None:
        conn = session.connection()
        tally.bump(conn, tally.SCREEN, day, key=node_id, country=country, language=language)
        written.append(reach.mark(conn, client.key, country, language, day, seen))

    if await _run(sessions, write) and written:
        seen.remember(written[0])


async def aid_requested(sessions: Sessions, need: str, client: ClientState) -> None:
    """A humanitarian request was sent: a counter of its kind (food, hygiene, ...)."""
    day = events.clock[0]()
    country, language = client.country or "", client.language or ""

    def write(session: Session) -> None:
        conn = session.connection()
        tally.bump(conn, tally.AID, day, key=need, country=country, language=language)

    await _run(sessions, write)


async def _run(sessions: Sessions, write: Callable[[Session], None]) -> bool:
    """Whether the counters were committed."""
    try:
        async with sessions() as session, session.begin():
            await session.run_sync(write)
    except SQLAlchemyError as exc:
        log.warning("a usage counter was not written: %s", type(exc).__name__)
        return False
    return True
