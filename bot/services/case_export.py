"""Exporting rights-violation case records for advocacy: finished ones only, as CSV, audited.

Used by /cases in the bot (handlers/cases.py) and `peerline cases export` (bot/cli_cases.py).
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import permissions
from bot.models import AuditEntry
from bot.models_cases import CaseRecord
from bot.permissions import Role

# The export's columns, in the order of a human-rights monitoring record: when, where, what,
# by whom, the response, how it ended. Codes, not translations, so files from every
# language add up. (Meant to map onto REAct-style monitoring categories; no published column
# list of theirs is in shared/CONTENT.md, so none is claimed.)
EXPORT_COLUMNS = (
    "incident_month",
    "country",
    "region",
    "violation_type",
    "perpetrator",
    "legal_aid_given",
    "outcome",
)


async def export(
    session: AsyncSession,
    roles: frozenset[Role],
    *,
    staff_id: int | None,
    first: str | None = None,
    last: str | None = None,
    via: str,
) -> list[dict[str, str]]:
    """Finished records whose month lies in [first, last] (either open), as export rows;
    audited (who, which months, how many rows, from where), even when there are none."""
    permissions.require(roles, "cases")
    query = select(CaseRecord).where(CaseRecord.status == "done")
    if first is not None:
        query = query.where(CaseRecord.month >= first)
    if last is not None:
        query = query.where(CaseRecord.month <= last)
    records = (await session.scalars(query.order_by(CaseRecord.month, CaseRecord.id))).all()
    rows = [
        {
            "incident_month": r.month or "",
            "country": r.country or "",
            "region": r.region or "",
            "violation_type": r.violation or "",
            "perpetrator": r.perpetrator or "",
            "legal_aid_given": "" if r.legal_aid is None else ("yes" if r.legal_aid else "no"),
            "outcome": r.outcome or "",
        }
        for r in records
    ]
    detail = f"months={first or '*'}..{last or '*'} rows={len(rows)} via={via}"
    session.add(AuditEntry(staff_id=staff_id, action="cases_export", detail=detail))
    await session.flush()
    return rows


def to_csv(rows: list[dict[str, str]]) -> bytes:
    """The export as a CSV file (UTF-8 with a byte-order mark, so spreadsheet programs read
    Cyrillic region names right)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # A region starting with "=", "+", "-" or "@" would run as a formula in a spreadsheet.
        region = row["region"]
        formula = region[:1] in ("=", "+", "-", "@")
        writer.writerow({**row, "region": "'" + region if formula else region})
    return out.getvalue().encode("utf-8-sig")
