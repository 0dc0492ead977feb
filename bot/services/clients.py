"""Clients: pseudonymous records of people using the bot, and their choices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import awaiting as awaiting_
from bot.crypto import Keys
from bot.models import Client, Conversation, Message
from bot.services import cases, outbox_upkeep, traces

# Telegram lets a bot delete messages in a private chat for 48 hours after they were sent.
FORGET_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class ClientState:
    id: int
    key: str
    language: str | None
    privacy_seen: bool
    country: str | None
    city: str | None
    # What their next plain message means, while it has not lapsed (bot/awaiting.py); `lapsed`
    # is one that ran out unfinished: the front door clears it and says so.
    awaiting: awaiting_.ClientInput | None
    subscribed: bool = False
    start_node: str | None = None  # where a deep link wanted to go, until onboarding is done
    lapsed: awaiting_.ClientInput | None = None

    @property
    def onboarded(self) -> bool:
        """Language, privacy notice and country are done (the city is optional)."""
        return bool(self.language and self.privacy_seen and self.country)


def _state(row: Client) -> ClientState:
    value, lapsed = awaiting_.current(row.awaiting, row.awaiting_until, datetime.now(UTC))
    return ClientState(
        id=row.id,
        key=row.key,
        language=row.language,
        privacy_seen=row.privacy_seen,
        country=row.country,
        city=row.city,
        awaiting=awaiting_.as_client(value),
        subscribed=row.subscribed_at is not None,
        start_node=row.start_node,
        lapsed=awaiting_.as_client(lapsed),
    )


def state_of(row: Client) -> ClientState:
    """The state of a client row loaded elsewhere (e.g. by the front door's one query)."""
    return _state(row)


async def repair_chat(session: AsyncSession, keys: Keys, row: Client, private_chat_id: int) -> None:
    """Before issue 12 a first contact from a group stored the group as the client's chat, so
    their replies went there. Put right when they write from their private chat (the row is
    already loaded, as an entity or as the front door's plain columns: one decryption, no
    query, unless it must be put right)."""
    if _stored_chat(keys, row.chat_ref) != private_chat_id:
        row.chat_ref = keys.encrypt_chat_id(private_chat_id)
        await session.execute(
            update(Client).where(Client.id == row.id).values(chat_ref=row.chat_ref),
            execution_options={"synchronize_session": False},
        )


async def get(
    session: AsyncSession, key: str, *, keys: Keys | None = None, private_chat_id: int | None = None
) -> ClientState | None:
    """The client with this key. With `private_chat_id` (the chat the person is writing from,
    when it is their private chat) and the keys, a stored chat that differs is replaced:
    before issue 12 a first contact from a group stored the group, so the client's replies
    went there. The row is already loaded, so the check costs one decryption, no query."""
    row = await session.scalar(select(Client).where(Client.key == key))
    if row is None:
        return None
    if (
        keys is not None
        and private_chat_id is not None
        and _stored_chat(keys, row.chat_ref) != private_chat_id
    ):
        row.chat_ref = keys.encrypt_chat_id(private_chat_id)
        await session.flush()
    return _state(row)


def _stored_chat(keys: Keys, chat_ref: bytes) -> int | None:
    try:
        return keys.decrypt_chat_id(chat_ref)
    except (InvalidTag, ValueError):  # unreadable (e.g. written under an older key): replace
        return None


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
    """Set language / privacy_seen / country / city / awaiting / start_node; the new state,
    if any. `awaiting` is a typed input (bot/awaiting.py) or None; it lapses by itself."""
    allowed = {"language", "privacy_seen", "country", "city", "awaiting", "start_node"}
    if not changes.keys() <= allowed:
        raise ValueError(f"cannot change {sorted(changes.keys() - allowed)}")
    if "awaiting" in changes:
        raw = changes["awaiting"]
        value = awaiting_.as_client(raw) if isinstance(raw, awaiting_.Input) else None
        if raw is not None and value is None:
            raise ValueError(f"not a client input: {raw!r}")
        changes["awaiting"] = awaiting_.encode(value) if value else None
        changes["awaiting_until"] = (
            awaiting_.expires_at(value, datetime.now(UTC)) if value else None
        )
    await session.execute(update(Client).where(Client.key == key).values(**changes))
    return await get(session, key)


@dataclass(frozen=True)
class Forgotten:
    """What /forget leaves to do in Telegram once the database rows are gone."""

    chat_ref: bytes  # the client's encrypted chat id (the row holding it is deleted)
    # Messages in the client's chat from the last 48 hours, oldest first: the bot's (sent
    # through the outbox) and the client's own relayed ones. Telegram lets a bot delete both
    # in a private chat for 48 hours.
    message_ids: tuple[int, ...]


async def forget(
    session: AsyncSession, key: str, *, now: datetime | None = None
) -> Forgotten | None:
    """Delete everything stored about this client; None if there was nothing.

    Conversations and their messages go with the client row (ON DELETE CASCADE), and with
    the messages the outbox rows that relayed them to staff. Rows addressed to the client are
    found by recipient and deleted here, pending ones included, after the ids of the messages
    they put in the client's chat are read for deletion in Telegram (`Forgotten`).
    """
    row = (
        await session.execute(select(Client.id, Client.chat_ref).where(Client.key == key))
    ).one_or_none()
    if row is None:
        return None
    moment = now or datetime.now(UTC)
    since = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    since -= FORGET_WINDOW
    recipient = f"client:{row.id}"
    sent = await outbox_upkeep.sent_message_ids(session, recipient, since=since)
    own = await session.scalars(
        select(Message.source_message_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.client_id == row.id,
            Message.author == "client",
            Message.source_message_id.is_not(None),
            Message.created_at >= since,
        )
    )
    # Every other message of the chat (screens, replies, notices: bot/services/traces.py).
    traced = await traces.recent(session, key, now=moment)
    await traces.forget(session, key)
    await outbox_upkeep.delete_for_recipient(session, recipient)
    # Their consent to case records, and the records they did not agree may stay.
    await cases.forget_client(session, row.id)
    await session.execute(delete(Client).where(Client.id == row.id))
    ids = {*sent, *(i for i in own.all() if i is not None), *traced}
    return Forgotten(chat_ref=row.chat_ref, message_ids=tuple(sorted(ids)))


async def language_of(session: AsyncSession, client_id: int) -> str | None:
    return await session.scalar(select(Client.language).where(Client.id == client_id))


async def chat_ref(session: AsyncSession, client_id: int) -> bytes:
    """The client's encrypted chat id, for queueing a message to them."""
    ref = await session.scalar(select(Client.chat_ref).where(Client.id == client_id))
    if ref is None:
        raise LookupError(f"no client {client_id}")
    return ref


async def chat_id(session: AsyncSession, keys: Keys, client_id: int) -> int:
    """The client's chat id in clear, only to copy their messages (never stored or logged)."""
    return keys.decrypt_chat_id(await chat_ref(session, client_id))


async def set_subscribed(session: AsyncSession, key: str, on: bool) -> ClientState | None:
    """Opt in to (or out of) news; the date is kept only while subscribed."""
    value = datetime.now(UTC) if on else None
    await session.execute(update(Client).where(Client.key == key).values(subscribed_at=value))
    return await get(session, key)
