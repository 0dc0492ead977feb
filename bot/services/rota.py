"""The weekly rota: when each member is on call, in the organisation's time zone.

Slots are wall-clock times of a week (weekday 0 = Monday, minutes since midnight, the end
exclusive and at most 24:00), so a change of summer time moves nobody's shift. Callers turn
"now" into local time with `local_now(tz)`; the pure functions below take local datetimes.

The rota drives two things: the office hours a client is told when nobody is on duty
(`office_hours_text`), and the maintenance loop's duty switch at a slot's start and end
(`shift_changes`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, Translator
from bot.models import RotaSlot, Staff

DAY = 24 * 60
MAX_SLOTS = 28  # per member: four a day is plenty
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


class RotaError(Exception):
    """Slots that cannot be stored or parsed; the message says why (for logs and the CLI)."""


@dataclass(frozen=True, order=True)
class Slot:
    weekday: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class StaffSlot:
    staff_id: int
    slot: Slot


def local_now(tz: str, now: datetime | None = None) -> datetime:
    """The organisation's wall-clock time, naive (what slots are written in)."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def _wall(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


# --- Parsing and validation ----------------------------------------------------------------

_TIME = r"(\d{1,2})(?::(\d{2}))?"
_SPEC = re.compile(
    rf"^(?P<days>[a-z]{{3}}(?:\s*[-–]\s*[a-z]{{3}})?)\s+(?P<start>{_TIME})\s*[-–]\s*(?P<end>{_TIME})$"
)
_DAY_ALIASES = {key: i for i, key in enumerate(DAY_KEYS)}


def _minute(text: str) -> int:
    hours, _, minutes = text.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if int(minutes or 0) >= 60 or value > DAY:
        raise RotaError(f"not a time of day: {text}")
    return value


def _days(text: str) -> list[int]:
    parts = [p.strip() for p in re.split(r"[-–]", text)]
    try:
        first, last = _DAY_ALIASES[parts[0]], _DAY_ALIASES[parts[-1]]
    except KeyError:
        raise RotaError(f"unknown day in {text!r}: use {' '.join(DAY_KEYS)}") from None
    return [(first + i) % 7 for i in range((last - first) % 7 + 1)]


def parse(text: str) -> list[Slot]:
    """ "mon-fri 10:00-18:00, sat 12-16" -> slots. A shift past midnight ("fri 22-06") goes
    on into the next day. RotaError for anything else."""
    slots: list[Slot] = []
    for spec in re.split(r"[,;\n]", text.lower()):
        spec = " ".join(spec.split())
        if not spec:
            continue
        match = _SPEC.match(spec)
        if match is None:
            raise RotaError(f"cannot read {spec!r}")
        start, end = _minute(match["start"]), _minute(match["end"])
        if start in (end, DAY):
            raise RotaError(f"an empty shift: {spec!r}")
        for day in _days(match["days"]):
            if end > start:
                slots.append(Slot(day, start, end))
            else:  # past midnight
                slots.append(Slot(day, start, DAY))
                if end:
                    slots.append(Slot((day + 1) % 7, 0, end))
    if not slots:
        raise RotaError("no slots given")
    return validate(slots)


def validate(slots: Iterable[Slot | tuple[int, int, int]]) -> list[Slot]:
    """Sorted, with overlapping or touching slots of a day merged."""
    checked = []
    for item in slots:
        slot = item if isinstance(item, Slot) else Slot(*item)
        if not 0 <= slot.weekday <= 6:
            raise RotaError(f"weekday {slot.weekday} is not 0 (Monday) to 6 (Sunday)")
        if not 0 <= slot.start_minute < slot.end_minute <= DAY:
            raise RotaError(f"a slot runs from 00:00 to 24:00 and ends after it starts: {slot}")
        checked.append(slot)
    merged = _merge(checked)
    if len(merged) > MAX_SLOTS:
        raise RotaError(f"at most {MAX_SLOTS} slots")
    return merged


def _merge(slots: Iterable[Slot]) -> list[Slot]:
    merged: list[Slot] = []
    for slot in sorted(slots):
        last = merged[-1] if merged else None
        if last and last.weekday == slot.weekday and slot.start_minute <= last.end_minute:
            end = max(last.end_minute, slot.end_minute)
            merged[-1] = Slot(last.weekday, last.start_minute, end)
        else:
            merged.append(slot)
    return merged


# --- Storage -------------------------------------------------------------------------------


async def set_slots(
    session: AsyncSession, staff_id: int, slots: Iterable[Slot | tuple[int, int, int]]
) -> list[Slot]:
    """Replace a member's week (an empty list clears it)."""
    chosen = validate(slots)
    await session.execute(delete(RotaSlot).where(RotaSlot.staff_id == staff_id))
    session.add_all(
        RotaSlot(
            staff_id=staff_id,
            weekday=slot.weekday,
            start_minute=slot.start_minute,
            end_minute=slot.end_minute,
        )
        for slot in chosen
    )
    await session.flush()
    return chosen


async def slots_for(session: AsyncSession, staff_id: int) -> list[Slot]:
    rows = await session.scalars(select(RotaSlot).where(RotaSlot.staff_id == staff_id))
    return sorted(Slot(r.weekday, r.start_minute, r.end_minute) for r in rows)


async def all_slots(session: AsyncSession) -> list[StaffSlot]:
    """Every active member's slots."""
    rows = await session.execute(
        select(RotaSlot.staff_id, RotaSlot.weekday, RotaSlot.start_minute, RotaSlot.end_minute)
        .join(Staff, Staff.id == RotaSlot.staff_id)
        .where(Staff.active.is_(True))
        .order_by(RotaSlot.staff_id, RotaSlot.weekday, RotaSlot.start_minute)
    )
    return [StaffSlot(staff_id, Slot(day, start, end)) for staff_id, day, start, end in rows]


# --- Who is on call ------------------------------------------------------------------------


def _covers(slot: Slot, moment: datetime) -> bool:
    minute = moment.hour * 60 + moment.minute
    return slot.weekday == moment.weekday() and slot.start_minute <= minute < slot.end_minute


def on_call(slots: Iterable[StaffSlot], now_local: datetime) -> set[int]:
    now_local = _wall(now_local)
    return {item.staff_id for item in slots if _covers(item.slot, now_local)}


async def on_call_now(session: AsyncSession, now_local: datetime) -> list[int]:
    """Staff ids whose slot covers this local time."""
    return sorted(on_call(await all_slots(session), now_local))


def changes(
    slots: Sequence[StaffSlot], now_local: datetime, since_local: datetime
) -> tuple[list[int], list[int]]:
    """Who should go on duty and who off, for slot starts and ends in (since, now].

    A member whose shift goes on (adjacent slots, or a shift past midnight) is not sent off;
    a shift that began and ended inside a long gap (the bot was down) changes nothing.
    At most a week back is looked at.
    """
    now_local, since_local = _wall(now_local), _wall(since_local)
    since_local = max(since_local, now_local - timedelta(days=7))
    if since_local >= now_local:
        return [], []
    current = on_call(slots, now_local)
    started: set[int] = set()
    ended: set[int] = set()
    day = datetime.combine(since_local.date(), datetime.min.time())
    while day <= now_local:
        for item in slots:
            if item.slot.weekday != day.weekday():
                continue
            start = day + timedelta(minutes=item.slot.start_minute)
            end = day + timedelta(minutes=item.slot.end_minute)
            if since_local < start <= now_local:
                started.add(item.staff_id)
            if since_local < end <= now_local:
                ended.add(item.staff_id)
        day += timedelta(days=1)
    return sorted(started & current), sorted(ended - current)


async def shift_changes(
    session: AsyncSession, now_local: datetime, since_local: datetime
) -> tuple[list[int], list[int]]:
    """(staff ids to set on duty, staff ids to set off duty) for the time since the last run."""
    return changes(await all_slots(session), now_local, since_local)


# --- Office hours --------------------------------------------------------------------------


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def summary(slots: Iterable[Slot], _: Translator | None = None, tz: str | None = None) -> str:
    """ "Mon–Fri 10:00–18:00, Sat 12:00–16:00": equal consecutive days merged."""
    names = [(_.gettext(name) if _ else name) for name in DAY_NAMES]
    by_day: dict[int, tuple[tuple[int, int], ...]] = {}
    for slot in _merge(slots):
        by_day[slot.weekday] = (*by_day.get(slot.weekday, ()), (slot.start_minute, slot.end_minute))
    groups: list[tuple[int, int, tuple[tuple[int, int], ...]]] = []
    for day in range(7):
        hours = by_day.get(day)
        if not hours:
            continue
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == hours:
            groups[-1] = (groups[-1][0], day, hours)
        else:
            groups.append((day, day, hours))
    parts = []
    for first, last, hours in groups:
        days = names[first] if first == last else f"{names[first]}–{names[last]}"
        times = ", ".join(f"{_clock(start)}–{_clock(end)}" for start, end in hours)
        parts.append(f"{days} {times}")
    text = "; ".join(parts)
    return f"{text} ({tz})" if text and tz else text


async def office_hours_text(
    session: AsyncSession,
    _: Translator | None = None,
    *,
    tz: str | None = None,
    fallback: str = "",
) -> str:
    """When someone is usually on call, from everyone's slots; `fallback` (the office_hours
    setting) when nobody has set any. `_` translates the day names for the reader."""
    slots = [item.slot for item in await all_slots(session)]
    return summary(slots, _, tz) if slots else fallback
