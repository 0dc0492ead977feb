"""The referral directory: which services a client sees, and in which order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from sqlalchemy import ColumnElement, ColumnExpressionArgument, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.languages import LANGUAGES
from bot.models import Service

SERVICE_TYPES: tuple[str, ...] = (
    "ost_site",
    "aids_centre",
    "tb_service",
    "hepatitis",
    "testing",
    "legal_aid",
    "shelter",
    "ngo",
    "hotline",
    "harm_reduction",  # syringe services and naloxone points
    "narcology",  # state drug treatment and rehabilitation
    "sexual_health",  # STI clinics, gynaecology
    "women_crisis",  # crisis centres and lines for women facing violence
    "self_help",  # mutual-help groups (e.g. Narcotics Anonymous)
)
NATIONAL = ("RU", "UA", "KZ")
# International organisations: the last resort, shown only where no national entry exists.
INTERNATIONAL = "INT"
COUNTRIES = (*NATIONAL, INTERNATIONAL)
# Never offered the international last resort: in Russia, links to foreign harm-reduction
# organisations put a client at legal risk (propaganda and "undesirable organisation" laws),
# so a client there sees Russian referral services or, failing those, the national hotlines.
NO_INTERNATIONAL = ("RU",)
# A language without its own version of a name or note borrows another before the default
# text: Kazakh readers in Kazakhstan read Russian; Ukrainian readers are not sent to Russian.
FALLBACK = {"kk": ("ru",), "ru": (), "uk": (), "en": ()}
SEED_FILE = Path(__file__).resolve().parents[2] / "content" / "directory" / "seed.yaml"


@dataclass(frozen=True)
class ServiceCard:
    """What a client is shown about one service (a detached copy of the row)."""

    id: int
    slug: str
    type: str
    country: str
    city: str | None
    name: str
    address: str | None
    phone: str | None
    website: str | None
    hours: str | None
    languages: tuple[str, ...]
    notes: str | None
    source: str | None
    verified: bool
    names: Mapping[str, str] = field(default_factory=dict, compare=False)
    notes_by_language: Mapping[str, str] = field(default_factory=dict, compare=False)

    def name_in(self, language: str) -> str:
        """The name in a client's language, else its fallback, else the default name."""
        return _localised(self.names, language) or self.name

    def notes_in(self, language: str) -> str | None:
        return _localised(self.notes_by_language, language) or self.notes

    @classmethod
    def of(cls, row: Service) -> ServiceCard:
        languages = tuple(filter(None, (row.languages or "").split(",")))
        names = {lang: getattr(row, f"name_{lang}") for lang in LANGUAGES}
        notes = {lang: getattr(row, f"notes_{lang}") for lang in LANGUAGES}
        return cls(
            id=row.id,
            slug=row.slug,
            type=row.type,
            country=row.country,
            city=row.city,
            name=row.name,
            address=row.address,
            phone=row.phone,
            website=row.website,
            hours=row.hours,
            languages=languages,
            notes=row.notes,
            source=row.source,
            verified=row.verified,
            names=MappingProxyType({k: v for k, v in names.items() if v}),
            notes_by_language=MappingProxyType({k: v for k, v in notes.items() if v}),
        )


def _localised(texts: Mapping[str, str], language: str) -> str | None:
    for candidate in (language, *FALLBACK.get(language, ())):
        if texts.get(candidate):
            return texts[candidate]
    return None


@dataclass(frozen=True)
class ServicePage:
    items: tuple[ServiceCard, ...]
    total: int  # across all pages


def _national(country: str, city: str | None) -> ColumnElement[bool]:
    """A client's own country: their city's services and the country-wide ones.

    Services in other cities are not shown to a client who chose a city: a site in another
    city of a large country is rarely reachable, and the list would be long. A client who
    chose no city sees the whole country, each entry with its city, so they can still find
    the nearest one (the handler also suggests setting a city).
    """
    if city is None:
        return Service.country == country
    return and_(Service.country == country, or_(Service.city == city, Service.city.is_(None)))


async def find_services(
    session: AsyncSession,
    *,
    service_type: str,
    country: str | None,
    city: str | None = None,
    limit: int = 5,
    offset: int = 0,
) -> ServicePage:
    """One page of services of a type for a client: local first, then country-wide;
    verified before unverified, then by name. International entries only when the
    client's country has none of this type (never in Russia: NO_INTERNATIONAL), or the
    client is elsewhere ("other"/None)."""
    if service_type not in SERVICE_TYPES:
        raise ValueError(f"unknown service type: {service_type!r}")
    if limit < 1 or offset < 0:
        raise ValueError("limit must be positive and offset not negative")
    of_type = Service.type == service_type
    if country in NATIONAL:
        where = and_(of_type, _national(country, city))
        total = await _count(session, where)
        if total or country in NO_INTERNATIONAL:
            items = await _page(session, where, limit, offset, city) if total else ()
            return ServicePage(items, total)
    where = and_(of_type, Service.country == INTERNATIONAL)
    total = await _count(session, where)
    items = await _page(session, where, limit, offset, city) if total else ()
    return ServicePage(items, total)


async def count_by_type(
    session: AsyncSession, country: str | None, city: str | None
) -> dict[str, int]:
    """For every service type, the `total` find_services would report for this client."""
    counts = dict.fromkeys(SERVICE_TYPES, 0)
    if country in NATIONAL:
        counts.update(await _counts(session, _national(country, city)))
    if country in NO_INTERNATIONAL:
        return counts
    international = await _counts(session, Service.country == INTERNATIONAL)
    for service_type, count in international.items():
        if counts.get(service_type) == 0:
            counts[service_type] = count
    return counts


async def national_hotlines(
    session: AsyncSession, country: str | None, limit: int = 5
) -> tuple[ServiceCard, ...]:
    """The country-wide phone lines of a client's country, verified first: what an empty
    list of services offers instead. None for clients outside the three countries."""
    if country not in NATIONAL:
        return ()
    where = and_(Service.type == "hotline", Service.country == country, Service.city.is_(None))
    return await _page(session, where, limit, 0, None)


async def seed_if_empty(session: AsyncSession, path: Path | None = None) -> int:
    """Import the seed file into an empty directory; returns the number of rows added.

    Runs at start-up; the caller commits. If two processes seed at the same moment, the
    unique slug makes the second one fail with IntegrityError instead of duplicating.
    """
    # Imported here: directory_io uses this module's constants, so a top-level import
    # would be circular.
    from bot.services.directory_io import import_file

    if await session.scalar(select(func.count()).select_from(Service)):
        return 0
    result = await import_file(session, path or SEED_FILE)
    return result.created


async def _count(session: AsyncSession, where: ColumnElement[bool]) -> int:
    return await session.scalar(select(func.count()).select_from(Service).where(where)) or 0


async def _counts(session: AsyncSession, where: ColumnElement[bool]) -> dict[str, int]:
    query = select(Service.type, func.count()).where(where).group_by(Service.type)
    return {service_type: count for service_type, count in await session.execute(query)}


async def _page(
    session: AsyncSession,
    where: ColumnElement[bool],
    limit: int,
    offset: int,
    city: str | None,
) -> tuple[ServiceCard, ...]:
    name: ColumnExpressionArgument[str] = Service.name
    if session.get_bind().dialect.name == "postgresql":
        # Code-point order, as SQLite sorts: the same list on both databases, whatever
        # locale the PostgreSQL cluster was created with.
        name = Service.name.collate("C")
    query = (
        select(Service)
        .where(where)
        # False sorts before true on both databases. With a city: the client's city before
        # country-wide entries; without one: country-wide (hotlines) before any one city's.
        .order_by(
            Service.city.is_(None) if city else Service.city.is_not(None),
            Service.verified.desc(),
            name,
            Service.id,
        )
        .limit(limit)
        .offset(offset)
    )
    return tuple(ServiceCard.of(row) for row in await session.scalars(query))
