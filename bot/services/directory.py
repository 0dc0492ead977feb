"""The referral directory: which services a client sees, and in which order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

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
)
NATIONAL = ("RU", "UA", "KZ")
# International organisations: the last resort, shown only where no national entry exists.
INTERNATIONAL = "INT"
COUNTRIES = (*NATIONAL, INTERNATIONAL)
LANGUAGES = ("ru", "uk", "kk", "en")
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

    @classmethod
    def of(cls, row: Service) -> ServiceCard:
        languages = tuple(filter(None, (row.languages or "").split(",")))
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
        )


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
    client's country has none of this type, or the client is elsewhere ("other"/None)."""
    if service_type not in SERVICE_TYPES:
        raise ValueError(f"unknown service type: {service_type!r}")
    if limit < 1 or offset < 0:
        raise ValueError("limit must be positive and offset not negative")
    of_type = Service.type == service_type
    if country in NATIONAL:
        where = and_(of_type, _national(country, city))
        total = await _count(session, where)
        if total:
            return ServicePage(await _page(session, where, limit, offset, city), total)
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
    international = await _counts(session, Service.country == INTERNATIONAL)
    for service_type, count in international.items():
        if counts.get(service_type) == 0:
            counts[service_type] = count
    return counts


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
    name = Service.name
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
