"""Small-number protection: no figure in a report may point at a few people.

Primary suppression: a count from 1 to threshold-1 shows as "<5" (for threshold 5). Zero
stays zero: it says nobody, so it cannot point at anyone.

Complementary suppression: a breakdown shows its total, so one hidden cell could be computed
back as the total minus the others. When exactly one cell of a breakdown is hidden, the
smallest other non-zero cell is hidden too. (A breakdown whose total is at least the
threshold always has such a cell: the hidden one alone is smaller than the total.) A total
below the threshold is itself hidden, and every non-zero cell of it is then hidden already.

A statistic (a median wait, an average rating) from fewer observations than the threshold
is not shown at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.indicators import Breakdown, Statistic


@dataclass(frozen=True)
class Shown:
    """A breakdown as a report prints it: each cell and the total as text."""

    indicator: str
    dimension: str
    cells: list[tuple[str, str]]  # (category, value), largest first
    total: str


def hidden(threshold: int) -> str:
    return f"<{threshold}"


def suppress(breakdown: Breakdown, threshold: int) -> Shown:
    cells = breakdown.cells
    small = {key for key, value in cells.items() if 0 < value < threshold}
    if len(small) == 1:
        others = [(value, key) for key, value in cells.items() if value > 0 and key not in small]
        if others:
            small.add(min(others)[1])
    mask = hidden(threshold)
    order = sorted(cells, key=lambda key: (-cells[key], key))
    shown = [(key, mask if key in small else str(cells[key])) for key in order]
    total = breakdown.total
    return Shown(
        breakdown.indicator,
        breakdown.dimension,
        shown,
        mask if 0 < total < threshold else str(total),
    )


def statistic(item: Statistic, threshold: int) -> str:
    if item.value is None or item.n == 0:
        return "–"
    if item.n < threshold:
        return f"n{hidden(threshold)}"
    return f"{item.value:.1f}"


def series(values: dict[str, int], threshold: int) -> dict[str, int]:
    """A chart's counts with every small one drawn as zero (a bar cannot say "<5")."""
    return {key: (0 if 0 < value < threshold else value) for key, value in values.items()}
