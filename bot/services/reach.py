"""Clients reached, distinct per calendar period, counted without keeping who.

Why per-period salted hashes and not HyperLogLog: donors ask for exact figures, and the
organisations this serves reach tens to a few hundred people a month, where a HyperLogLog
sketch's error (a few per cent, and worse in its small-range correction) shows as a wrong
number in a grant report. A sketch would also keep, for ever, registers that anyone holding
the hash key could test a given person against. So, for each open period (the month, the
quarter and the year: a distinct count cannot be added up from smaller periods), a person
reached leaves one mark: SHA-256 of a random salt of that period and their client key, with
the country and language they had. Marks say nothing without the salt; while the period is
open the salt is in the database, so someone holding a copy of it could test a client key
against them (learning "this person used the bot this month", which the clients table and
conversations already say). When the period closes, the marks are counted by country and
language into `ReachCount` and deleted together with the salt: from then on nothing can be
linked, and `/forget` (which leaves marks alone) changes no figure.

The functions work on a synchronous Connection, so both the session listener (inside a
flush) and async code (through `AsyncSession.run_sync`) can call them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.models_events import ReachCount, ReachMark, ReachSalt

# The first day a process checked for closed periods: the check runs once a day per process.
_checked_on: list[date] = []


@dataclass(frozen=True)
class Period:
    code: str  # M2026-12 | Q2026-4 | Y2026
    first: date
    last: date


def month(day: date) -> Period:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(f"M{day:%Y-%m}", first, following - timedelta(days=1))


def quarter(day: date) -> Period:
    number = (day.month - 1) // 3 + 1
    first = date(day.year, 3 * number - 2, 1)
    last = month(date(day.year, 3 * number, 1)).last
    return Period(f"Q{day.year}-{number}", first, last)


def year(day: date) -> Period:
    return Period(f"Y{day.year}", date(day.year, 1, 1), date(day.year, 12, 31))


def periods_of(day: date) -> tuple[Period, ...]:
    return (month(day), quarter(day), year(day))


def parse(code: str) -> Period:
    """The period a code names (the inverse of `Period.code`)."""
    if code.startswith("M"):
        return month(date.fromisoformat(code[1:] + "-01"))
    if code.startswith("Q"):
        year_text, number = code[1:].split("-")
        return quarter(date(int(year_text), 3 * int(number), 1))
    return year(date(int(code[1:]), 1, 1))


def exact_period(first: date, last: date) -> Period | None:
    """The calendar month, quarter or year that is exactly [first, last], if any."""
    for period in periods_of(first):
        if period.first == first and period.last == last:
            return period
    return None


def _insert(conn: Connection):  # type: ignore[no-untyped-def]
    """INSERT with ON CONFLICT for this connection's dialect (both have the same API)."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _salts(conn: Connection, codes: list[str]) -> dict[str, bytes]:
    """The salts of these open periods, drawn for those that have none yet (one SELECT in
    the usual case: this runs on every screen a client opens)."""
    query = select(ReachSalt.period, ReachSalt.salt).where(ReachSalt.period.in_(codes))
    found: dict[str, bytes] = {period: salt for period, salt in conn.execute(query)}
    missing = [code for code in codes if code not in found]
    if missing:
        # Two processes may draw one at once: the first insert wins, both read it back.
        conn.execute(
            _insert(conn)(ReachSalt)
            .values([{"period": code, "salt": secrets.token_bytes(32)} for code in missing])
            .on_conflict_do_nothing(index_elements=["period"])
        )
        return _salts(conn, codes)
    return found


def mark(
    conn: Connection,
    client_key: str,
    country: str,
    language: str,
    day: date,
    seen: Seen | None = None,
) -> Written:
    """Count this person once in each open period containing `day`. With `seen` (what this
    process already wrote today), the salts are not read again and a mark already written is
    not written again; hand the result to `Seen.remember` once the transaction committed."""
    close_finished(conn, day)
    known = seen.salts if seen is not None and seen.day == day else None
    codes = [period.code for period in periods_of(day)]
    salts = known or _salts(conn, codes)
    marks = [
        (code, hashlib.sha256(salts[code] + client_key.encode()).hexdigest()) for code in codes
    ]
    if seen is not None and known:
        marks = [pair for pair in marks if pair not in seen.marks]
    if marks:
        conn.execute(
            _mark_statement(conn),
            [
                {"period": code, "mark": value, "country": country, "language": language}
                for code, value in marks
            ],
        )
    return Written(day, salts, marks)


@dataclass(frozen=True)
class Written:
    day: date
    salts: dict[str, bytes]
    marks: list[tuple[str, str]]  # (period code, mark)


class Seen:
    """What one process already wrote for today's open periods: their salts and the marks,
    never a client key. Each mark is a row of `reach_marks` while its period is open, so
    keeping it here tells nothing the database does not; another day (a period may have
    closed, its salt and marks deleted) starts afresh. Only committed writes are remembered,
    so a rolled-back transaction never hides a mark that is not in the database."""

    def __init__(self) -> None:
        self.day: date | None = None
        self.salts: dict[str, bytes] = {}
        self.marks: set[tuple[str, str]] = set()

    def remember(self, written: Written) -> None:
        if written.day != self.day:
            self.day, self.salts, self.marks = written.day, written.salts, set()
        self.marks.update(written.marks)


_MARK_STATEMENTS: dict[str, Any] = {}


def _mark_statement(conn: Connection) -> Any:
    """One INSERT ... ON CONFLICT DO NOTHING per dialect, built once: executed with one
    parameter set per period, it is compiled once too (a multi-VALUES insert is not cached)."""
    name = conn.dialect.name
    if name not in _MARK_STATEMENTS:
        _MARK_STATEMENTS[name] = _insert(conn)(ReachMark).on_conflict_do_nothing(
            index_elements=["period", "mark"]
        )
    return _MARK_STATEMENTS[name]


def close_finished(conn: Connection, today: date, *, force: bool = False) -> None:
    """Turn the marks of every period that ended before `today` into counts; delete the
    marks and the salt. Once a day per process unless forced (reports force it)."""
    if not force and _checked_on and _checked_on[0] >= today:
        return
    _checked_on[:] = [today]
    for code in conn.scalars(select(ReachSalt.period)).all():
        if parse(code).last >= today:
            continue
        grouped = conn.execute(
            select(ReachMark.country, ReachMark.language, func.count())
            .where(ReachMark.period == code)
            .group_by(ReachMark.country, ReachMark.language)
        ).all()
        rows = [
            {"period": code, "country": country, "language": language, "count": count}
            for country, language, count in grouped
        ]
        if rows:
            conn.execute(insert(ReachCount), rows)
        conn.execute(delete(ReachMark).where(ReachMark.period == code))
        conn.execute(delete(ReachSalt).where(ReachSalt.period == code))


def counts(conn: Connection, code: str) -> dict[tuple[str, str], int]:
    """Distinct clients reached in a period by (country, language): closed or still open."""
    closed = conn.execute(
        select(ReachCount.country, ReachCount.language, ReachCount.count).where(
            ReachCount.period == code
        )
    ).all()
    if closed:
        return {(country, language): count for country, language, count in closed}
    open_ = conn.execute(
        select(ReachMark.country, ReachMark.language, func.count())
        .where(ReachMark.period == code)
        .group_by(ReachMark.country, ReachMark.language)
    ).all()
    return {(country, language): count for country, language, count in open_}
