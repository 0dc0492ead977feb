"""The weekly rota: parsing, who is on call, shift changes, office hours, and /rota."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services import rota, staff_accounts
from bot.services.rota import Slot, StaffSlot
from tests.harness import BotHarness, FakeUser
from tests.test_canned import ANNA, SUPER, tools  # noqa: F401  (fixture)

MON = datetime(2026, 11, 23)  # a Monday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MON.replace(day=23 + day, hour=hour, minute=minute)


def test_parse_forms() -> None:
    assert rota.parse("mon-fri 10:00-18:00") == [Slot(d, 600, 1080) for d in range(5)]
    assert rota.parse("sat 12-16") == [Slot(5, 720, 960)]
    assert rota.parse("Mon 9-13, mon 12-18; sun 20:30-24") == [
        Slot(0, 540, 1080),
        Slot(6, 1230, 1440),
    ]
    assert rota.parse("fri 22-06") == [Slot(4, 1320, 1440), Slot(5, 0, 360)]
    assert rota.parse("sat-mon 10-12") == [Slot(0, 600, 720), Slot(5, 600, 720), Slot(6, 600, 720)]
    for bad in ("", "funday 10-12", "mon 10", "mon 25-26", "mon 10:75-11", "mon 10-10", "x"):
        with pytest.raises(rota.RotaError):
            rota.parse(bad)


def test_summary_merges_equal_days() -> None:
    week = [Slot(d, 600, 1080) for d in range(5)] + [Slot(5, 720, 960)]
    assert rota.summary(week) == "Mon–Fri 10:00–18:00; Sat 12:00–16:00"
    assert rota.summary(week, tz="Europe/Kyiv").endswith("(Europe/Kyiv)")
    split = [Slot(0, 600, 780), Slot(0, 840, 1080), Slot(2, 600, 780), Slot(2, 840, 1080)]
    assert rota.summary(split) == "Mon 10:00–13:00, 14:00–18:00; Wed 10:00–13:00, 14:00–18:00"
    assert rota.summary([Slot(6, 0, 1440)]) == "Sun 00:00–24:00"
    assert rota.summary([]) == ""


def test_on_call_and_shift_changes_pure() -> None:
    slots = [
        StaffSlot(1, Slot(0, 600, 1080)),  # Mon 10-18
        StaffSlot(2, Slot(0, 1080, 1440)),  # Mon 18-24, then Tue 0-6: one shift
        StaffSlot(2, Slot(1, 0, 360)),
        StaffSlot(3, Slot(0, 600, 840)),  # Mon 10-14 and 14-18 for someone else
        StaffSlot(3, Slot(0, 840, 1080)),
    ]
    assert rota.on_call(slots, at(0, 9, 59)) == set()
    assert rota.on_call(slots, at(0, 10)) == {1, 3}
    assert rota.on_call(slots, at(0, 18)) == {2}
    assert rota.on_call(slots, at(1, 0, 30)) == {2}
    assert rota.changes(slots, at(0, 10), at(0, 9, 59)) == ([1, 3], [])
    assert rota.changes(slots, at(0, 12), at(0, 10)) == ([], [])  # (since, now]: no repeat
    assert rota.changes(slots, at(0, 14, 1), at(0, 13, 59)) == ([3], [])  # 3 stays on
    assert rota.changes(slots, at(0, 18), at(0, 17, 59)) == ([2], [1, 3])
    assert rota.changes(slots, at(1, 0, 1), at(0, 23, 59)) == ([2], [])  # across midnight
    assert rota.changes(slots, at(1, 6), at(1, 5, 59)) == ([], [2])
    # The bot was down all Monday evening: 1 and 3 went off meanwhile, 2 is still on.
    assert rota.changes(slots, at(0, 20), at(0, 9)) == ([2], [1, 3])
    assert rota.changes(slots, at(0, 9), at(0, 10)) == ([], [])  # clock went back
    # Aware datetimes are taken as wall-clock times.
    assert rota.local_now("Europe/Kyiv", datetime(2026, 11, 23, 8, tzinfo=UTC)) == at(0, 10)


async def test_slots_storage_and_office_hours(session) -> None:  # type: ignore[no-untyped-def]
    from bot.crypto import Keys

    keys = Keys("test-secret-key-that-is-long-enough-0123456789")
    a = await staff_accounts.add_staff(
        session, keys, telegram_id=11, display_name="Anna", role="peer"
    )
    b = await staff_accounts.add_staff(
        session, keys, telegram_id=12, display_name="Oleh", role="peer"
    )
    assert await rota.office_hours_text(session, fallback="by appointment") == "by appointment"
    await rota.set_slots(session, a.id, rota.parse("mon-wed 10-18"))
    await rota.set_slots(session, b.id, rota.parse("thu-fri 10-14, thu-fri 13-18, sat 12-16"))
    assert await rota.slots_for(session, b.id) == [
        Slot(3, 600, 1080),
        Slot(4, 600, 1080),
        Slot(5, 720, 960),
    ]
    hours = await rota.office_hours_text(session, fallback="x", tz="Europe/Kyiv")
    assert hours == "Mon–Fri 10:00–18:00; Sat 12:00–16:00 (Europe/Kyiv)"
    assert await rota.on_call_now(session, at(3, 11)) == [b.id]
    assert await rota.shift_changes(session, at(5, 16), at(5, 15)) == ([], [b.id])
    await staff_accounts.remove_staff(session, b.id)  # removed members are nobody's rota
    assert await rota.on_call_now(session, at(3, 11)) == []
    await rota.set_slots(session, a.id, [])
    assert await rota.slots_for(session, a.id) == []
    with pytest.raises(rota.RotaError):
        await rota.set_slots(session, a.id, [(7, 0, 60)])


async def test_rota_command(tools: BotHarness) -> None:  # noqa: F811
    shown = await tools.send(ANNA, "/rota")
    assert "no on-call hours" in shown.text and "/rota mon-fri" in shown.text
    saved = await tools.send(ANNA, "/rota mon-fri 10:00-18:00, sat 12-16")
    assert "Saved" in saved.text and "Mon–Fri 10:00–18:00; Sat 12:00–16:00" in saved.text
    assert "Mon–Fri 10:00–18:00" in (await tools.send(ANNA, "/rota")).text
    bad = await tools.send(ANNA, "/rota someday 10-18")
    assert "could not read" in bad.text and "/rota clear" in bad.text
    assert "cleared" in (await tools.send(ANNA, "/rota clear")).text
    assert "no on-call hours" in (await tools.send(ANNA, "/rota")).text


async def test_rota_is_per_member(tools: BotHarness) -> None:  # noqa: F811
    await tools.send(ANNA, "/rota mon 10-12")
    assert "no on-call hours" in (await tools.send(SUPER, "/rota")).text
    stranger = FakeUser(id=5570000099, language_code="en")
    assert (await tools.send(stranger, "/rota mon 10-12")).text == "This is for consultants only."
