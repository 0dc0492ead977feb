"""Importing and exporting the directory: checks, line numbers, upserts, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Service
from bot.services.directory import SEED_FILE
from bot.services.directory_io import (
    DirectoryImportFailed,
    export_services,
    import_file,
    validate_file,
)

GOOD_CSV = """\
slug,type,country,city,name,address,phone,website,hours,languages,notes,source,verified
ua-kyiv-ost,ost_site,UA,Київ,OST Kyiv,"вул. Тиха, 1",0777,https://e.org,24/7,"uk, ru",,,yes
,hotline,ua,,Гаряча лінія,,0 800 000 000,,,,"Two lines
of notes",https://example.org/src,0

kz-almaty-legal,legal_aid,KZ,almaty,Legal help,,,,,kk,,,false
"""

GOOD_YAML = """\
services:
  - slug: ua-kyiv-ost
    type: ost_site
    country: UA
    city: Kyiv
    name: OST site Kyiv
    phone: 0777
    languages: [uk, ru]
    verified: yes
  - type: ngo
    country: INT
    name: EHRA
    website: https://harmreductioneurasia.org
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def all_services(session: AsyncSession) -> dict[str, Service]:
    return {row.slug: row for row in await session.scalars(select(Service))}


async def count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Service)) or 0


async def test_a_good_csv_is_imported_with_values_cleaned(
    session: AsyncSession, tmp_path: Path
) -> None:
    result = await import_file(session, write(tmp_path, "d.csv", GOOD_CSV))

    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    rows = await all_services(session)
    kyiv = rows["ua-kyiv-ost"]
    assert kyiv.city == "kyiv"  # a city name is stored as its key
    assert kyiv.address == "вул. Тиха, 1"
    assert kyiv.phone == "0777"
    assert kyiv.languages == "uk,ru"
    assert kyiv.verified is True
    hotline = rows["hotline-ua-garyacha-liniya"]  # slug derived from type, country and name
    assert hotline.country == "UA"
    assert hotline.city is None
    assert hotline.notes == "Two lines\nof notes"
    assert hotline.verified is False
    assert rows["kz-almaty-legal"].city == "almaty"


async def test_a_good_yaml_is_imported_with_phone_numbers_kept_as_text(
    session: AsyncSession, tmp_path: Path
) -> None:
    result = await import_file(session, write(tmp_path, "d.yaml", GOOD_YAML))

    assert result.created == 2
    rows = await all_services(session)
    assert rows["ua-kyiv-ost"].phone == "0777"  # not the octal number 511
    assert rows["ua-kyiv-ost"].languages == "uk,ru"
    assert rows["ua-kyiv-ost"].verified is True
    assert rows["ngo-int-ehra"].verified is False


async def test_a_plain_yaml_list_is_accepted_too(session: AsyncSession, tmp_path: Path) -> None:
    text = "- {type: ngo, country: INT, name: EuroNPUD, website: 'https://euronpud.net'}\n"

    result = await import_file(session, write(tmp_path, "d.yml", text))

    assert result.created == 1


async def test_bad_csv_rows_report_line_and_field_and_nothing_is_written(
    session: AsyncSession, tmp_path: Path
) -> None:
    text = (
        "type,country,city,name,website,languages,verified\n"
        "ngo,UA,,Fine row,,,\n"  # line 2: good, but must not be written either
        "bakery,UA,,Bad type,,,\n"  # line 3
        'pharmacy,UA,,"A value on\ntwo lines",,,\n'  # lines 4-5: reported where it starts
        "ngo,UA,Atlantis,Bad city,www.example.org,de,maybe\n"  # line 6: four problems
        "ngo,,,,,,\n"  # line 7: country and name missing
    )

    with pytest.raises(DirectoryImportFailed) as failed:
        await import_file(session, write(tmp_path, "d.csv", text))

    problems = {(e.line, e.field) for e in failed.value.errors}
    assert problems == {
        (3, "type"),
        (4, "type"),
        (6, "city"),
        (6, "website"),
        (6, "languages"),
        (6, "verified"),
        (7, "country"),
        (7, "name"),
    }
    assert await count(session) == 0


async def test_a_bad_yaml_item_reports_the_line_where_it_starts(
    session: AsyncSession, tmp_path: Path
) -> None:
    text = GOOD_YAML + "  - type: ngo\n    country: XX\n    name: Somewhere\n"
    item_line = GOOD_YAML.count("\n") + 1

    with pytest.raises(DirectoryImportFailed) as failed:
        await import_file(session, write(tmp_path, "d.yaml", text))

    assert [(e.line, e.field) for e in failed.value.errors] == [(item_line, "country")]
    assert await count(session) == 0


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("ngo,UA,almaty,Wrong country", "city", "is in KZ, not in UA"),
        ("ngo,INT,kyiv,Worldwide", "city", "leave the city empty"),
        ("ngo,UA,," + "x" * 201, "name", "at most 200"),
        ("ngo,RUS,,Name", "country", "unknown country"),
    ],
)
async def test_each_rule_names_the_field_and_explains(
    session: AsyncSession, tmp_path: Path, row: str, field: str, message: str
) -> None:
    path = write(tmp_path, "d.csv", f"type,country,city,name\n{row}\n")

    with pytest.raises(DirectoryImportFailed) as failed:
        await import_file(session, path)

    (error,) = failed.value.errors
    assert (error.line, error.field) == (2, field)
    assert message in error.message


async def test_unknown_columns_and_file_types_are_refused(
    session: AsyncSession, tmp_path: Path
) -> None:
    with pytest.raises(DirectoryImportFailed) as failed:
        await import_file(session, write(tmp_path, "d.csv", "type,country,name,adress\n"))
    assert [(e.line, e.field) for e in failed.value.errors] == [(1, "adress")]

    with pytest.raises(DirectoryImportFailed):
        await import_file(session, write(tmp_path, "d.txt", "anything"))


async def test_a_slug_used_twice_in_one_file_is_an_error(
    session: AsyncSession, tmp_path: Path
) -> None:
    text = "slug,type,country,name\nsame,ngo,UA,One\nsame,ngo,UA,Two\n"

    with pytest.raises(DirectoryImportFailed) as failed:
        await import_file(session, write(tmp_path, "d.csv", text))

    (error,) = failed.value.errors
    assert (error.line, error.field) == (3, "slug")
    assert "line 2" in error.message


async def test_importing_again_updates_entries_instead_of_duplicating(
    session: AsyncSession, tmp_path: Path
) -> None:
    await import_file(session, write(tmp_path, "d.csv", GOOD_CSV))
    changed = GOOD_CSV.replace("0777", "0 44 123 45 67").replace(",24/7,", ",,")

    result = await import_file(session, write(tmp_path, "d.csv", changed))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert await count(session) == 3
    kyiv = (await all_services(session))["ua-kyiv-ost"]
    assert kyiv.phone == "0 44 123 45 67"
    assert kyiv.hours is None


@pytest.mark.parametrize("suffix", [".csv", ".yaml"])
async def test_export_then_import_changes_nothing(
    session: AsyncSession, tmp_path: Path, suffix: str
) -> None:
    await import_file(session, write(tmp_path, "a.csv", GOOD_CSV))
    await import_file(session, write(tmp_path, "b.yaml", GOOD_YAML.replace("ua-kyiv-ost", "x")))
    await import_file(session, SEED_FILE)
    fields = [c.name for c in Service.__table__.columns if c.name not in ("id", "updated_at")]
    before = {s: [getattr(r, f) for f in fields] for s, r in (await all_services(session)).items()}
    exported = tmp_path / f"export{suffix}"

    assert await export_services(session, exported) == len(before)
    again = await import_file(session, exported)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(before))

    await session.execute(delete(Service))
    await import_file(session, exported)
    after = {s: [getattr(r, f) for f in fields] for s, r in (await all_services(session)).items()}
    assert after == before


def test_the_seed_file_passes_validation() -> None:
    records = validate_file(SEED_FILE)

    assert len(records) >= 10
    for record in records:
        # Every entry says where it comes from, or is shown as unverified.
        assert record["source"] or record["verified"] is False, record["slug"]
        if record["country"] == "INT":
            assert record["city"] is None


def test_the_seed_keeps_unconfirmed_organisations_unverified() -> None:
    records = {record["slug"]: record for record in validate_file(SEED_FILE)}
    text = SEED_FILE.read_text(encoding="utf-8").lower()

    assert records["kz-union-of-people-living-with-hiv"]["verified"] is False
    assert records["ua-hiv-hotline"]["verified"] is False
    assert records["ua-hope-and-trust-ost-hotline"]["phone"] == "0 800 507 727"
    assert "harmreductionforukrainians" not in text
    assert "treatment4ukraine" not in text


def test_the_seed_has_sourced_entries_in_every_language_and_russia_only_refers() -> None:
    records = validate_file(SEED_FILE)
    national = [record for record in records if record["country"] in ("RU", "UA", "KZ")]
    russia = [record for record in national if record["country"] == "RU"]

    assert len(national) >= 40
    assert all(record["source"] for record in records)
    for record in records:
        for language in ("ru", "uk", "kk"):
            assert record[f"name_{language}"], (record["slug"], language)
            if record["notes"]:
                assert record[f"notes_{language}"], (record["slug"], language)
    # Russia: referral only (state services, legal aid, lines), no harm-reduction entries.
    assert {record["type"] for record in russia}.isdisjoint({"harm_reduction", "ost_site", "ngo"})
    assert not any("rylkov" in str(record["website"] or "") for record in russia)


async def test_names_and_notes_per_language_survive_a_csv_round_trip(
    session: AsyncSession, tmp_path: Path
) -> None:
    text = (
        "slug,type,country,name,name_ru,name_kk,notes,notes_uk,hours\n"
        "kz-111,hotline,KZ,Contact centre 111,Контакт-центр 111,111 байланыс орталығы,"
        "Free,Безоплатно,Пн-Пт 9:00-18:00; Сб 10:00-14:00\n"
    )
    await import_file(session, write(tmp_path, "in.csv", text))
    await export_services(session, tmp_path / "out.csv")
    await session.execute(delete(Service))

    await import_file(session, tmp_path / "out.csv")

    row = (await all_services(session))["kz-111"]
    assert (row.name_ru, row.name_kk) == ("Контакт-центр 111", "111 байланыс орталығы")
    assert row.name_uk is None
    assert (row.notes, row.notes_uk) == ("Free", "Безоплатно")
    assert row.hours == "Пн-Пт 9:00-18:00; Сб 10:00-14:00"


async def test_hours_that_cannot_be_shown_in_every_language_are_refused(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = write(tmp_path, "d.csv", "type,country,name,hours\nngo,UA,Name,weekdays till six\n")

    with pytest.raises(DirectoryImportFailed) as failed:
        await import_file(session, path)

    (error,) = failed.value.errors
    assert error.field == "hours"
    assert "Mon-Fri 10:00-18:00" in error.message
