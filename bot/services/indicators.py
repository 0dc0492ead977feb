"""Donor indicators for any period, by country, language and topic (issue 13), computed from
the anonymous events alone (bot/models_events.py): `/forget` and the retention purge, which
delete conversations, change none of them.

The figures are raw here; bot/services/suppression.py hides small ones before anything is
shown, and bot/services/report_files.py writes them out.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.i18n import N_
from bot.models_events import AnonEvent, DailyCount
from bot.services import events, reach, tally


@dataclass(frozen=True)
class Scope:
    first: date
    last: date  # inclusive
    country: str | None = None


@dataclass
class Breakdown:
    """Counts of one indicator split along one dimension; `total` is their sum."""

    indicator: str  # a msgid (N_), e.g. "Conversations opened"
    dimension: str  # a msgid: "country", "topic", ... or "all"
    cells: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.cells.values())


@dataclass
class Statistic:
    """A figure computed from `n` observations (a median wait, an average rating)."""

    indicator: str
    category: str
    value: float | None
    n: int


@dataclass
class Indicators:
    scope: Scope
    breakdowns: list[Breakdown] = field(default_factory=list)
    statistics: list[Statistic] = field(default_factory=list)
    # For the charts: Monday of each week -> topic -> conversations opened
    weekly_topics: dict[date, Counter[str]] = field(default_factory=dict)
    # Monday of each week -> the waits (seconds) of the conversations first answered then
    weekly_waits: dict[date, list[int]] = field(default_factory=dict)
    # Service type -> follow-up answer -> count ("referred" counts the referrals themselves)
    referrals: dict[str, Counter[str]] = field(default_factory=dict)
    reached_note: str = ""  # how "clients reached" was counted for this period


REACHED = N_("Clients reached (distinct)")
SCREENS = N_("Information screens viewed")
OPENED = N_("Conversations opened")
CLOSED = N_("Conversations closed")
URGENT = N_("Urgent requests")
REFERRALS = N_("Referrals")
FOLLOW_UPS = N_("Follow-up answers")
AID = N_("Humanitarian requests")
PER_CONSULTANT = N_("Conversations taken per consultant")
RATINGS = N_("Ratings")
POSTS = N_("Posts published")
REACH = N_("Post deliveries (reach)")
SUBSCRIBED = N_("New subscribers")
UNSUBSCRIBED = N_("Subscribers who left")
SUBSCRIBERS = N_("Subscribers at the end of the period")
WAIT_MEDIAN = N_("Wait to first answer, median (minutes)")
WAIT_P90 = N_("Wait to first answer, 90th percentile (minutes)")
RATING_AVERAGE = N_("Average rating")
EXACT = N_("distinct people in the period")
SUMMED = N_("distinct people per month, added up over the months of the period")


PEOPLE = ("country", "language")  # people have no topic


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def percentile(values: list[int], share: float) -> float:
    """The nearest-rank percentile (what a spreadsheet's PERCENTILE.INC approximates)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return float(ordered[rank - 1])


def split(
    indicator: str,
    rows: Iterable[tuple[str, str, str, int]],
    dimensions: tuple[str, ...] = ("country", "language", "topic"),
) -> list[Breakdown]:
    """(country, language, topic-or-key, count) rows as one breakdown per dimension (each
    shown even when empty: a report lists every indicator, zero included)."""
    by: dict[str, Counter[str]] = {name: Counter() for name in dimensions}
    for country, language, key, count in rows:
        by["country"][country or "?"] += count
        by["language"][language or "?"] += count
        if "topic" in by:
            by["topic"][key or "?"] += count
    return [Breakdown(indicator, name, dict(cells)) for name, cells in by.items()]


async def compute(session: AsyncSession, scope: Scope) -> Indicators:
    found = Indicators(scope)
    query = select(AnonEvent).where(AnonEvent.day >= scope.first, AnonEvent.day <= scope.last)
    counters = select(DailyCount).where(DailyCount.day >= scope.first, DailyCount.day <= scope.last)
    if scope.country:
        query = query.where(AnonEvent.country == scope.country)
        counters = counters.where(DailyCount.country == scope.country)
    happened = list(await session.scalars(query))
    counts = list(await session.scalars(counters))
    kinds: dict[str, list[AnonEvent]] = defaultdict(list)
    for item in happened:
        kinds[item.kind].append(item)

    def rows(kind: str, key: str = "topic") -> list[tuple[str, str, str, int]]:
        return [(e.country, e.language, getattr(e, key), 1) for e in kinds[kind]]

    found.breakdowns += await _reached(session, scope, found)
    screens = [(c.country, c.language, c.key, c.count) for c in counts if c.kind == tally.SCREEN]
    found.breakdowns += split(SCREENS, screens)
    found.breakdowns += split(OPENED, rows("opened"))
    found.breakdowns.append(_by(CLOSED, "outcome", (e.outcome or "?" for e in kinds["closed"])))
    found.breakdowns += split(URGENT, rows("urgent"))
    found.breakdowns.append(_by(REFERRALS, "service", (e.detail for e in kinds["referral"])))
    found.breakdowns.append(_by(FOLLOW_UPS, "answer", (e.outcome for e in kinds["follow_up"])))
    aid = [(c.country, c.language, c.key, c.count) for c in counts if c.kind == tally.AID]
    found.breakdowns += [
        Breakdown(AID, "kind" if b.dimension == "topic" else b.dimension, b.cells)
        for b in split(AID, aid)
    ]
    staff = (f"#{e.staff_id}" for e in kinds["taken"] if e.staff_id is not None)
    found.breakdowns.append(_by(PER_CONSULTANT, "consultant", staff))
    ratings = [e.number for e in kinds["rating"] if e.number is not None]
    found.breakdowns.append(_by(RATINGS, "rating", (str(r) for r in ratings)))
    found.statistics.append(
        Statistic(
            RATING_AVERAGE, "all", statistics.fmean(ratings) if ratings else None, len(ratings)
        )
    )
    if not scope.country:  # posts go to everyone: they have no country
        found.breakdowns.append(_by(POSTS, "all", ("all" for _ in kinds["post_published"])))
        delivered = sum(c.count for c in counts if c.kind == tally.POST_REACH)
        found.breakdowns.append(Breakdown(REACH, "all", {"all": delivered}))
    found.breakdowns += split(SUBSCRIBED, rows("subscribed"), PEOPLE)
    found.breakdowns += split(UNSUBSCRIBED, rows("unsubscribed"), PEOPLE)
    found.breakdowns += await _subscribers(session, scope)
    _waits(found, kinds["taken"])
    for item in kinds["opened"]:
        found.weekly_topics.setdefault(monday(item.day), Counter())[item.topic] += 1
    for item in kinds["referral"]:
        found.referrals.setdefault(item.detail, Counter())["referred"] += 1
    for item in kinds["follow_up"]:
        found.referrals.setdefault(item.detail or "?", Counter())[item.outcome] += 1
    return found


def _by(indicator: str, dimension: str, keys: Iterable[str]) -> Breakdown:
    return Breakdown(indicator, dimension, dict(Counter(keys)))


def _waits(found: Indicators, taken: list[AnonEvent]) -> None:
    groups: dict[str, list[int]] = defaultdict(list)
    for item in taken:
        if item.number is None:
            continue
        groups["all"].append(item.number)
        groups[item.country or "?"].append(item.number)
        found.weekly_waits.setdefault(monday(item.day), []).append(item.number)
    for category, values in sorted(groups.items(), key=lambda kv: kv[0] != "all"):
        median = statistics.median(values) / 60
        found.statistics.append(Statistic(WAIT_MEDIAN, category, median, len(values)))
        p90 = percentile(values, 0.9) / 60
        found.statistics.append(Statistic(WAIT_P90, category, p90, len(values)))


async def _reached(session: AsyncSession, scope: Scope, found: Indicators) -> list[Breakdown]:
    """Distinct people: exact for a calendar month, quarter or year; otherwise the monthly
    distinct counts of the months the period touches, added up (and said so)."""
    exact = reach.exact_period(scope.first, scope.last)
    codes: list[str] = []
    if exact is not None:
        codes.append(exact.code)
        found.reached_note = EXACT
    else:
        month = reach.month(scope.first)
        while month.first <= scope.last:
            codes.append(month.code)
            month = reach.month(month.last + timedelta(days=1))
        found.reached_note = SUMMED

    def read(sync: Session) -> list[tuple[str, str, str, int]]:
        conn = sync.connection()
        reach.close_finished(conn, events.clock[0](), force=True)
        rows = []
        for code in codes:
            for (country, language), count in reach.counts(conn, code).items():
                if not scope.country or country == scope.country:
                    rows.append((country, language, "", count))
        return rows

    return split(REACHED, await session.run_sync(read), PEOPLE)


async def _subscribers(session: AsyncSession, scope: Scope) -> list[Breakdown]:
    """Subscribers at the end of the period: everyone who joined minus everyone who left,
    since events began (the count starts at the release that added them)."""
    query = select(AnonEvent.kind, AnonEvent.country, AnonEvent.language).where(
        AnonEvent.kind.in_(("subscribed", "unsubscribed")), AnonEvent.day <= scope.last
    )
    if scope.country:
        query = query.where(AnonEvent.country == scope.country)
    net: list[tuple[str, str, str, int]] = [
        (country, language, "", 1 if kind == "subscribed" else -1)
        for kind, country, language in (await session.execute(query)).all()
    ]
    parts = split(SUBSCRIBERS, net, PEOPLE)
    for part in parts:
        part.cells = {key: value for key, value in part.cells.items() if value > 0}
    return parts
