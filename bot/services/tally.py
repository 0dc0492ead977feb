"""Per-day counters (`DailyCount`): information screens viewed, aid requests by kind, post
deliveries. A counter is a number per day, key, country and language, and nothing else: it
cannot say who, or link one view to another."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.models_events import DailyCount

SCREEN, AID, POST_REACH = "screen", "aid", "post_reach"
_UNIQUE = ["day", "kind", "key", "country", "language"]


def bump(
    conn: Connection,
    kind: str,
    day: date,
    *,
    key: str = "",
    country: str = "",
    language: str = "",
    by: int = 1,
) -> None:
    """Add `by` to a counter, creating it at need (one statement, safe under concurrency)."""
    conn.execute(
        _statement(conn.dialect.name),
        {
            "day": day,
            "kind": kind,
            "key": key[:32],
            "country": country,
            "language": language,
            "count": by,
        },
    )


_STATEMENTS: dict[str, Any] = {}


def _statement(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE count = count + the inserted count, built once per
    dialect (this runs for every screen a client opens)."""
    if dialect not in _STATEMENTS:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(DailyCount)
        _STATEMENTS[dialect] = statement.on_conflict_do_update(
            index_elements=_UNIQUE, set_={"count": DailyCount.count + statement.excluded.count}
        )
    return _STATEMENTS[dialect]
