"""The declarative base every model shares, and the helper for closed vocabularies."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import CheckConstraint, MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic batch migrations on SQLite and PostgreSQL in step.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def one_of(column: str, values: Sequence[str]) -> CheckConstraint:
    """The database refuses any other value in `column` (NULL passes: whether a column may
    be empty is its own nullability). Named `ck_<table>_<column>_known`; migration 0020
    spells the same lists out, as a migration must not change when the models do."""
    if not values or any("'" in value for value in values):
        raise ValueError("a vocabulary is a non-empty list of plain codes")
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_known")
