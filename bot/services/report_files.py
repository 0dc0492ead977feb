"""The indicators as a table, after small-number suppression: CSV, Markdown or xlsx.

Every format holds the same rows: indicator, dimension, category, value; a "total" row ends
each breakdown. openpyxl is imported only when an xlsx is asked for.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from bot.i18n import N_
from bot.services import suppression
from bot.services.indicators import Indicators

Gettext = Callable[[str], str]
FORMATS = ("csv", "md", "xlsx")

# Dimension names, as msgids.
DIMENSIONS = {
    "all": N_("all"),
    "country": N_("country"),
    "language": N_("language"),
    "topic": N_("topic"),
    "outcome": N_("outcome"),
    "service": N_("service type"),
    "answer": N_("answer"),
    "kind": N_("kind"),
    "consultant": N_("consultant"),
    "rating": N_("rating"),
}
TOTAL = N_("total")
PERIOD, COUNTRY = N_("Period"), N_("Country")
REACHED_LABEL = N_("Clients reached")
HEADER = (N_("indicator"), N_("by"), N_("category"), N_("value"))


@dataclass(frozen=True)
class Table:
    title: list[str]  # lines about the table: period, country, threshold, how people count
    rows: list[tuple[str, str, str, str]]


def table(
    found: Indicators,
    threshold: int,
    gettext: Gettext,
    names: Callable[[str, str], str] = lambda _dimension, code: code,
) -> Table:
    """The rows; `names` words a category ("topic", "ost" -> "OST"), else the code shows."""
    scope = found.scope
    title = [
        gettext(N_("Peerline indicators")),
        f"{gettext(PERIOD)}: {scope.first.isoformat()} – {scope.last.isoformat()}",
        f"{gettext(COUNTRY)}: {scope.country or gettext(DIMENSIONS['all'])}",
        gettext(N_("Figures from 1 to %(n)s are shown as <%(m)s."))
        % {
            "n": threshold - 1,
            "m": threshold,
        },
        f"{gettext(REACHED_LABEL)}: {gettext(found.reached_note)}",
    ]
    rows: list[tuple[str, str, str, str]] = []
    for breakdown in found.breakdowns:
        shown = suppression.suppress(breakdown, threshold)
        indicator = gettext(shown.indicator)
        by = gettext(DIMENSIONS.get(shown.dimension, shown.dimension))
        if shown.dimension != "all":
            rows += [
                (indicator, by, names(shown.dimension, category), value)
                for category, value in shown.cells
            ]
        rows.append((indicator, by, gettext(TOTAL), shown.total))
    for item in found.statistics:
        by = gettext(DIMENSIONS["all"] if item.category == "all" else DIMENSIONS["country"])
        category = gettext(TOTAL) if item.category == "all" else item.category
        rows.append((gettext(item.indicator), by, category, suppression.statistic(item, threshold)))
    return Table(title, rows)


def to_csv(data: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for line in data.title:
        writer.writerow(["#", line])
    writer.writerow(["indicator", "by", "category", "value"])
    writer.writerows(data.rows)
    return out.getvalue().encode("utf-8-sig")  # the BOM makes spreadsheets read UTF-8


def to_markdown(data: Table, gettext: Gettext) -> str:
    lines = [f"# {data.title[0]}", "", *(f"- {line}" for line in data.title[1:]), ""]
    current = None
    for indicator, by, category, value in data.rows:
        if (indicator, by) != current:
            current = (indicator, by)
            lines += ["", f"## {indicator} · {by}", "", "| | |", "|---|---:|"]
        lines.append(f"| {_cell(category)} | {value} |")
    return "\n".join(lines).strip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_xlsx(data: Table, gettext: Gettext) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "indicators"
    for line in data.title:
        sheet.append([line])
    sheet.append([])
    sheet.append([gettext(name) for name in HEADER])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for indicator, by, category, value in data.rows:
        # Numbers as numbers (a spreadsheet can add them); "<5" and the like as text.
        sheet.append([indicator, by, category, _number(value)])
    for column, width in zip("ABCD", (44, 16, 20, 12), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number(value: str) -> int | float | str:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value


def render(data: Table, form: str, gettext: Gettext) -> bytes:
    if form == "csv":
        return to_csv(data)
    if form == "md":
        return to_markdown(data, gettext).encode()
    if form == "xlsx":
        return to_xlsx(data, gettext)
    raise ValueError(f"unknown format {form!r}")
