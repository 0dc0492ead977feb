"""A report: the indicators of a period (bot/services/indicators.py), its table in a format,
its charts, and an audit entry for whoever asked (staff id, never a name; what; when)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry
from bot.services import indicators, report_charts, report_files
from bot.services.indicators import Indicators, Scope

Gettext = Callable[[str], str]
AUDIT_ACTION = "report"


class BadPeriod(ValueError):
    """The period is empty or backwards, or the country code is not one."""


def scope(first: date, last: date, country: str | None) -> Scope:
    if last < first:
        raise BadPeriod("the period ends before it starts")
    if country is not None and not (country.isalpha() and 2 <= len(country) <= 8):
        raise BadPeriod(f"not a country code: {country!r}")
    return Scope(first, last, country.upper() if country else None)


async def audit(session: AsyncSession, staff_id: int | None, what: str, where: Scope) -> None:
    """Who (a staff id; None from the command line, said in the detail), what, when."""
    detail = f"{what} {where.first.isoformat()}..{where.last.isoformat()}"
    detail += f" {where.country or 'all'}" + (" cli" if staff_id is None else "")
    session.add(AuditEntry(staff_id=staff_id, action=AUDIT_ACTION, detail=detail[:200]))
    await session.flush()


@dataclass(frozen=True)
class Files:
    table: report_files.Table
    documents: list[tuple[str, bytes]]  # (file name, content)
    charts: list[tuple[str, bytes]]


async def compute(session: AsyncSession, where: Scope) -> Indicators:
    return await indicators.compute(session, where)


def files(
    found: Indicators,
    threshold: int,
    gettext: Gettext,
    *,
    formats: tuple[str, ...] = ("csv", "xlsx"),
    charts: bool = True,
    names: report_charts.Namer = lambda _dimension, code: code,
) -> Files:
    table = report_files.table(found, threshold, gettext, names)
    stem = f"peerline-{found.scope.first.isoformat()}-{found.scope.last.isoformat()}"
    if found.scope.country:
        stem += f"-{found.scope.country}"
    documents = [(f"{stem}.{form}", report_files.render(table, form, gettext)) for form in formats]
    drawn = report_charts.all_charts(found, threshold, gettext, names) if charts else []
    return Files(table, documents, drawn)
