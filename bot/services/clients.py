"""Clients: pseudonymous records of people using the bot, and their choices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Client, Outbox


@dataclass(frozen=True)
class ClientState:
    id: int
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
        id=row.id,
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
    """Delete everything stored about this client. True if there was anything.

    Conversations and their messages go with the client row (ON DELETE CASCADE); pending
    notices to the client in the outbox are addressed by id, so they are deleted here.
    """
    client_id = await session.scalar(select(Client.id).where(Client.key == key))
    if client_id is None:
        return False
    await session.execute(delete(Outbox).where(Outbox.recipient == f"client:{client_id}"))
    await session.execute(delete(Client).where(Client.id == client_id))
    return True


async def chat_ref(session: AsyncSession, client_id: int) -> bytes:
    """The client's encrypted chat id, for queueing a message to them."""
    ref = await session.scalar(select(Client.chat_ref).where(Client.id == client_id))
    if ref is None:
        raise LookupError(f"no client {client_id}")
    return ref


async def chat_id(session: AsyncSession, keys: Keys, client_id: int) -> int:
    """The client's chat id in clear, only to copy their messages (never stored or logged)."""
    return keys.decrypt_chat_id(await chat_ref(session, client_id))
