"""Charts a supervisor would rather look at than read: PNGs of weekly conversations by topic,
waiting times, and referrals with their follow-up answers.

The series are computed apart from the drawing (and tested apart); small numbers are drawn
as zero and weeks with too few waits are left out, as in the table
(bot/services/suppression.py). matplotlib is imported only when a chart is drawn (and
renders with Agg, no display), so the bot starts as fast as before.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.i18n import N_
from bot.services import suppression
from bot.services.indicators import Indicators, monday, percentile

if TYPE_CHECKING:  # matplotlib is imported only when a chart is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Gettext = Callable[[str], str]
# (dimension, code) -> what a reader sees: "topic", "ost" -> "OST" (handlers/report.py builds
# it from the screens' vocabularies; without one, the codes themselves).
Namer = Callable[[str, str], str]
ANSWERS = ("referred", "helped", "not_helped", "not_reached")  # bot/services/followup.py


@dataclass(frozen=True)
class Bars:
    """Stacked bars: one label per bar, one series per stacked part."""

    title: str
    labels: list[str]
    series: dict[str, list[int]]


@dataclass(frozen=True)
class Lines:
    title: str
    labels: list[str]
    series: dict[str, list[float | None]]


def weeks(found: Indicators) -> list[date]:
    first, last = monday(found.scope.first), found.scope.last
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def topics_by_week(found: Indicators, threshold: int) -> Bars:
    mondays = weeks(found)
    topics = sorted({t for week in found.weekly_topics.values() for t in week})
    series: dict[str, list[int]] = {}
    for topic in topics:
        raw = {
            d.isoformat(): found.weekly_topics[d][topic] if d in found.weekly_topics else 0
            for d in mondays
        }
        series[topic] = list(suppression.series(raw, threshold).values())
    return Bars(N_("Conversations opened per week, by topic"), _labels(mondays), series)


def waits_by_week(found: Indicators, threshold: int) -> Lines:
    mondays = weeks(found)
    medians: list[float | None] = []
    p90s: list[float | None] = []
    for day in mondays:
        waits = found.weekly_waits.get(day, [])
        enough = len(waits) >= threshold
        medians.append(round(statistics.median(waits) / 60, 1) if enough else None)
        p90s.append(round(percentile(waits, 0.9) / 60, 1) if enough else None)
    series = {N_("median"): medians, N_("90th percentile"): p90s}
    return Lines(N_("Wait to first answer per week (minutes)"), _labels(mondays), series)


def referrals(found: Indicators, threshold: int) -> Bars:
    services = sorted(found.referrals)
    series: dict[str, list[int]] = {}
    for answer in ANSWERS:
        raw = {s: found.referrals[s].get(answer, 0) for s in services}
        series[answer] = list(suppression.series(raw, threshold).values())
    return Bars(N_("Referrals by service type and follow-up answers"), services, series)


def _labels(mondays: list[date]) -> list[str]:
    return [d.strftime("%d.%m") for d in mondays]


def draw_bars(chart: Bars, gettext: Gettext, *, stacked: bool = True) -> bytes:
    figure, axes = _figure()
    positions = list(range(len(chart.labels)))
    bottom = [0] * len(positions)
    width = 0.8 if stacked else 0.8 / max(1, len(chart.series))
    for index, (name, values) in enumerate(chart.series.items()):
        if stacked:
            axes.bar(positions, values, bottom=bottom, label=name, width=width)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        else:
            shifted = [p + (index - (len(chart.series) - 1) / 2) * width for p in positions]
            axes.bar(shifted, values, label=name, width=width)
    axes.set_xticks(positions, chart.labels, rotation=45, ha="right")
    return _finish(figure, axes, gettext(chart.title), bool(chart.series))


def draw_lines(chart: Lines, gettext: Gettext) -> bytes:
    figure, axes = _figure()
    positions = list(range(len(chart.labels)))
    for name, values in chart.series.items():
        points = [(p, v) for p, v in zip(positions, values, strict=True) if v is not None]
        axes.plot([p for p, _ in points], [v for _, v in points], marker="o", label=gettext(name))
    axes.set_xticks(positions, chart.labels, rotation=45, ha="right")
    return _finish(figure, axes, gettext(chart.title), True)


def _figure() -> tuple[Figure, Axes]:
    # A Figure of its own, not pyplot: pyplot keeps global state, and two /report requests
    # may draw at once in worker threads. Figure.savefig renders with Agg, needing no display.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.5), dpi=100)
    return figure, figure.subplots()


def _finish(figure: Figure, axes: Axes, title: str, legend: bool) -> bytes:
    axes.set_title(title)
    if legend:
        axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def named(chart: Bars, series: str, labels: str | None, names: Namer) -> Bars:
    """The chart with its series (and, if `labels` names a dimension, its bars) in words."""
    return Bars(
        chart.title,
        [names(labels, label) for label in chart.labels] if labels else chart.labels,
        {names(series, name): values for name, values in chart.series.items()},
    )


def all_charts(
    found: Indicators, threshold: int, gettext: Gettext, names: Namer = lambda _d, code: code
) -> list[tuple[str, bytes]]:
    """(file name, PNG) for each chart of the report."""
    topics = named(topics_by_week(found, threshold), "topic", None, names)
    referred = named(referrals(found, threshold), "answer", "service", names)
    return [
        ("conversations_by_topic.png", draw_bars(topics, gettext)),
        ("waiting_times.png", draw_lines(waits_by_week(found, threshold), gettext)),
        ("referrals.png", draw_bars(referred, gettext, stacked=False)),
    ]
