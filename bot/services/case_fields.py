"""What a rights-violation case record can say: its categories, months and region.

Codes, not words: the handlers name them in the reader's language (handlers/case_form.py) and
the export keeps the codes (bot/services/case_export.py), so records made in every language
add up. The categories follow issue 13's list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.dbtypes import clean_text

VIOLATIONS = (
    "police_violence",
    "arbitrary_detention",
    "extortion",
    "care_refused",  # refusal of medical care or of opioid substitution therapy
    "confidentiality",  # breach of medical confidentiality
    "discrimination",
    "parental_rights",  # a threat to parental rights
    "other",
)
COUNTRIES = ("RU", "UA", "KZ", "other")
PERPETRATORS = ("police", "medical_staff", "officials", "employer", "family_partner", "other")
OUTCOMES = ("pending", "resolved", "not_resolved", "unknown")
YES_NO = ("yes", "no")
CHOICES: dict[str, tuple[str, ...]] = {
    "violation": VIOLATIONS,
    "country": COUNTRIES,
    "perpetrator": PERPETRATORS,
    "legal_aid": YES_NO,
    "outcome": OUTCOMES,
}
# What a finished record must say (the region is optional: a few words, or nothing).
REQUIRED = ("violation", "country", "month", "perpetrator", "legal_aid", "outcome")
REGION_MAX = 64
MONTHS_BACK = 12
_MONTH = re.compile(r"(\d{4})-(\d{2})")


class CaseError(Exception):
    """A request about a case that cannot be done; `code` says why (handlers word it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class CaseView:
    id: int
    staff_id: int | None
    status: str  # asked | filling | done
    violation: str | None
    country: str | None
    region: str | None
    month: str | None
    perpetrator: str | None
    legal_aid: bool | None
    outcome: str | None

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(name for name in REQUIRED if getattr(self, name) is None)


def utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def recent_months(now: datetime | None = None, count: int = MONTHS_BACK) -> list[str]:
    """This month and the ones before it, newest first: the months a case can be put in."""
    moment = utc(now)
    year, month = moment.year, moment.month
    months = []
    for _step in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def parse_month(text: str) -> str | None:
    """ "2026-03" as it is, or None for anything that is not a plausible month."""
    match = _MONTH.fullmatch(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        return None
    return match.group(0)


def clean_region(text: str) -> str:
    """A region as stored: control characters and runs of spaces gone. Refused (CaseError)
    when empty, too long, or with digits (house numbers, dates: too exact)."""
    region = " ".join(clean_text(text).split())
    if not region:
        raise CaseError("region_empty")
    if len(region) > REGION_MAX:
        raise CaseError("region_long")
    if any(char.isdigit() for char in region):
        raise CaseError("region_digits")
    return region
