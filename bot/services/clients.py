"""Clients: pseudonymous records of people using the bot, and their choices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Client


@dataclass(frozen=True)
class ClientState:
    key: str
    language: str | None
    privacy_seen: bool
    country: str | None
    city: str | None
    awaiting: str | None

    @property
    def onboarded(self) -> bool:
        """Language, privacy notice and country are done (the city is optional)."""
        return bool(self.language and self.privacy_seen and self.country)


def _state(row: Client) -> ClientState:
    return ClientState(
        key=row.key,
        language=row.language,
        privacy_seen=row.privacy_seen,
        country=row.country,
        city=row.city,
        awaiting=row.awaiting,
    )


async def get(session: AsyncSession, key: str) -> ClientState | None:
    row = await session.scalar(select(Client).where(Client.key == key))
    return _state(row) if row else None


async def get_or_create(
    session: AsyncSession, key: str, chat_ref: Callable[[], bytes]
) -> ClientState:
    """The client with this key, created on first contact (`chat_ref` encrypts the chat id)."""
    row = await session.scalar(select(Client).where(Client.key == key))
    if row is None:
        row = Client(key=key, chat_ref=chat_ref(), privacy_seen=False)
        session.add(row)
        await session.flush()
    return _state(row)


async def update_client(session: AsyncSession, key: str, **changes: object) -> ClientState | None:
    """Set language / privacy_seen / country / city / awaiting; the new state, if any."""
    allowed = {"language", "privacy_seen", "country", "city", "awaiting"}
    if not changes.keys() <= allowed:
        raise ValueError(f"cannot change {sorted(changes.keys() - allowed)}")
    await session.execute(update(Client).where(Client.key == key).values(**changes))
    return await get(session, key)


async def forget(session: AsyncSession, key: str) -> bool:
    """Delete everything stored about this client. True if there was anything."""
    result = await session.execute(delete(Client).where(Client.key == key))
    return bool(result.rowcount)
