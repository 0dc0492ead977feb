"""Import and export of the referral directory as CSV or YAML files edited by people.

An import is all or nothing: every row is checked first, every problem is reported with its
line and field, and only a fully valid file is written. Rows are matched by slug, so
importing the same file again updates entries instead of duplicating them.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Service
from bot.services.cities import CityIndex, load_cities, transliterate
from bot.services.directory import COUNTRIES, INTERNATIONAL, LANGUAGES, SERVICE_TYPES
from bot.services.hours import parse as parse_hours

FIELDS = (
    "slug", "type", "country", "city", "name", "name_ru", "name_uk", "name_kk", "name_en",
    "address", "phone", "website", "hours", "languages",
    "notes", "notes_ru", "notes_uk", "notes_kk", "notes_en", "source", "verified",
)  # fmt: skip
REQUIRED = ("type", "country", "name")
# Column widths come from the model so the two cannot drift apart; notes is unbounded in
# the database but must fit one Telegram message (4,096 characters) with the rest of a card.
LIMITS = {f: getattr(Service.__table__.c[f].type, "length", None) or 2000 for f in FIELDS}
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0", ""}
Record = dict[str, str | bool | None]


@dataclass(frozen=True)
class RowError:
    """One problem in an import file. (Not called ImportError: that would shadow Python's.)"""

    line: int  # CSV line or the line of the YAML item; 0: the file as a whole
    field: str
    message: str


class DirectoryImportFailed(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = tuple(errors)
        super().__init__(f"{len(errors)} problem(s), nothing was imported")


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int

    def summary(self) -> str:
        return f"{self.created} added, {self.updated} updated, {self.unchanged} unchanged"


class _Loader(yaml.SafeLoader):
    """YAML that keeps phone numbers and the like as text: PyYAML would read 0777 as the
    octal number 511 and 2024-01-01 as a date. Only null and true/false/yes/no stay special."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag.endswith((":null", ":bool"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Bad(ValueError):
    """A field's value is wrong; the message is for the person editing the file."""


async def import_file(
    session: AsyncSession, path: Path | str, cities: CityIndex | None = None
) -> ImportResult:
    """Check a .csv/.yaml file and upsert its rows by slug; the caller commits.

    Raises DirectoryImportFailed listing every problem, having written nothing."""
    records = validate_file(path, cities)
    existing: dict[str, Service] = {}
    slugs = [str(record["slug"]) for record in records]
    for start in range(0, len(slugs), 500):  # stay far below bound-parameter limits
        query = select(Service).where(Service.slug.in_(slugs[start : start + 500]))
        existing |= {row.slug: row for row in await session.scalars(query)}
    created = updated = 0
    for record in records:
        row = existing.get(str(record["slug"]))
        if row is None:
            session.add(Service(**record))
            created += 1
            continue
        changes = {k: v for k, v in record.items() if getattr(row, k) != v}
        for key, value in changes.items():
            setattr(row, key, value)
        updated += bool(changes)
    await session.flush()
    return ImportResult(created, updated, len(records) - created - updated)


def validate_file(path: Path | str, cities: CityIndex | None = None) -> list[Record]:
    """Every row of a file as clean column values, or DirectoryImportFailed."""
    cities = cities or load_cities()
    rows, errors = _read(Path(path))
    records: list[Record] = []
    first_line: dict[str, int] = {}
    for line, raw in rows:
        try:
            record = _record(line, raw, cities)
        except DirectoryImportFailed as failed:
            errors += failed.errors
            continue
        slug = str(record["slug"])
        if slug in first_line:
            message = f"slug {slug!r} is already used on line {first_line[slug]}"
            errors.append(RowError(line, "slug", message))
        first_line.setdefault(slug, line)
        records.append(record)
    if errors:
        raise DirectoryImportFailed(errors)
    return records


Rows = list[tuple[int, dict[str, object]]]  # (line, field -> value as written)


def _read(path: Path) -> tuple[Rows, list[RowError]]:
    try:
        # Decoded by hand: no newline translation, so a value's line breaks survive as written.
        text = path.read_bytes().decode("utf-8-sig")  # -sig: spreadsheets add a BOM
    except (OSError, UnicodeDecodeError) as exc:
        return [], [RowError(0, "", f"cannot read the file as UTF-8 text: {exc}")]
    if path.suffix.lower() == ".csv":
        return _read_csv(text)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _read_yaml(text)
    return [], [RowError(0, "", "the file name must end in .csv, .yaml or .yml")]


def _read_csv(text: str) -> tuple[Rows, list[RowError]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: Rows = []
    errors: list[RowError] = []
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        for name in dict.fromkeys(header):
            if name not in FIELDS or header.count(name) > 1:
                message = f"unknown or repeated column; columns are {', '.join(FIELDS)}"
                errors.append(RowError(1, name, message))
        end = reader.line_num
        for cells in reader:
            # A quoted value may span lines: a row starts right after the previous one ended.
            line, end = end + 1, reader.line_num
            if len(cells) > len(header):
                errors.append(RowError(line, "", "more cells than columns in the header"))
            elif any(cell.strip() for cell in cells):
                rows.append((line, dict(zip(header, cells, strict=False))))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, "", f"not valid CSV: {exc}"))
    return ([], errors) if errors else (rows, [])


def _read_yaml(text: str) -> tuple[Rows, list[RowError]]:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [RowError(mark.line + 1 if mark else 0, "", f"not valid YAML: {exc}")]
    finally:
        loader.dispose()
    if root is not None and isinstance(data, dict) and set(data) == {"services"}:
        root = next(value for key, value in root.value if key.value == "services")
        data = data["services"] or []
    if not isinstance(data, list):
        return [], [RowError(1, "", "expected a list of services, or services: [...]")]
    rows: Rows = []
    errors: list[RowError] = []
    for node, item in zip(getattr(root, "value", []), data, strict=False):
        line = node.start_mark.line + 1
        if isinstance(item, dict):
            rows.append((line, {str(key).strip().lower(): value for key, value in item.items()}))
        else:
            errors.append(RowError(line, "", "each service must be a set of field: value lines"))
    return rows, errors


def _record(line: int, raw: dict[str, object], cities: CityIndex) -> Record:
    """One row checked and normalised; raises DirectoryImportFailed with all its problems."""
    errors = [RowError(line, k, "unknown field") for k in raw if k not in FIELDS]
    record: Record = {}
    for name in FIELDS:
        try:
            record[name] = _field(name, raw.get(name), record, cities)
        except _Bad as bad:
            errors.append(RowError(line, name, str(bad)))
            record[name] = None
    if errors:
        raise DirectoryImportFailed(errors)
    if record["slug"] is None:
        record["slug"] = _derived_slug(record)
    return record


def _field(name: str, value: object, record: Record, cities: CityIndex) -> str | bool | None:
    if name == "languages" and isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    if value is not None and not isinstance(value, str):
        raise _Bad("must be text, not a list or a mapping")
    text = value.strip() if value else ""
    if name == "verified":
        if text.lower() not in _TRUE | _FALSE:
            raise _Bad("must be true or false (yes/no, 1/0)")
        return text.lower() in _TRUE
    if not text:
        if name in REQUIRED:
            raise _Bad("is required")
        return None
    if len(text) > LIMITS[name]:
        raise _Bad(f"is {len(text)} characters long, at most {LIMITS[name]} fit")
    if name == "slug" and not _SLUG.fullmatch(text):
        raise _Bad("use lower-case latin letters, digits and single hyphens")
    if name == "type" and text not in SERVICE_TYPES:
        raise _Bad(f"unknown type {text!r}; use one of {', '.join(SERVICE_TYPES)}")
    if name == "country":
        text = text.upper()
        if text not in COUNTRIES:
            raise _Bad(f"unknown country {text!r}; use one of {', '.join(COUNTRIES)}")
    if name == "city":
        return _city(text, record.get("country"), cities)
    if name == "website" and not text.lower().startswith(("http://", "https://")):
        raise _Bad("must start with https:// or http://")
    if name == "hours" and parse_hours(text) is None:
        # Free text would reach every client as written, e.g. English inside a Russian card.
        raise _Bad(
            "write it like 'Mon-Fri 10:00-18:00; Sat 10:00-14:00' or '24/7', "
            "so that it can be shown in every language"
        )
    if name == "languages":
        codes = [code.strip().lower() for code in text.split(",") if code.strip()]
        wrong = [code for code in codes if code not in LANGUAGES]
        if wrong:
            raise _Bad(f"unknown language(s) {', '.join(wrong)}; use {', '.join(LANGUAGES)}")
        return ",".join(dict.fromkeys(codes)) or None
    return text


def _city(text: str, country: object, cities: CityIndex) -> str | None:
    if country is None:
        return None  # the country is already reported as wrong; a city check would only guess
    if country == INTERNATIONAL:
        raise _Bad("international entries are shown everywhere: leave the city empty")
    city = cities.resolve(text, str(country), abroad=True)
    if city is None:
        raise _Bad(f"unknown city {text!r}: use a key or a name from content/cities.yaml")
    if city.country != country:
        raise _Bad(f"{text!r} is in {city.country}, not in {country}")
    return city.key


def _derived_slug(record: Record) -> str:
    """A readable slug for rows without one. Renaming such an entry gives it a new slug
    (a new entry on import), so files that will be edited should carry their slugs."""
    parts = (record["type"], record["country"], record["city"], record["name"])
    # NFKD splits accents off Latin letters (é -> e + accent), so "Café" gives "cafe".
    text = unicodedata.normalize("NFKD", transliterate(" ".join(str(p) for p in parts if p)))
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:80].rstrip("-")


async def export_services(session: AsyncSession, path: Path | str) -> int:
    """Write every service to a .csv or .yaml file that import_file reads back unchanged."""
    path = Path(path)
    rows = await session.scalars(select(Service).order_by(Service.slug))
    records = [{name: getattr(row, name) for name in FIELDS} for row in rows]
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.DictWriter(file, FIELDS)
            writer.writeheader()
            for record in records:
                writer.writerow({**record, "verified": str(record["verified"]).lower()})
    elif path.suffix.lower() in (".yaml", ".yml"):
        compact = [{k: v for k, v in record.items() if v is not None} for record in records]
        text = yaml.safe_dump({"services": compact}, allow_unicode=True, sort_keys=False, width=100)
        path.write_text(text, encoding="utf-8")
    else:
        raise ValueError(f"{path}: the file must end in .csv, .yaml or .yml")
    return len(records)
