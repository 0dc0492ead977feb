"""Channels the organisation publishes to.

A channel is registered by a channel admin after adding the bot to it as an administrator
(the handler checks with Telegram that the bot may post there). Its language decides which
version of a post it gets. When the bot is removed or loses the right to post, the channel
becomes inactive with the reason, and posts skip it until it is registered again.

Like every chat id, a channel's is stored only encrypted, found by a keyed hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.languages import LANGUAGES
from bot.models import AuditEntry, Channel

# Who registers channels and publishes to them (and is told when one stops working).
POSTING_ROLES = frozenset({"channel_admin", "admin"})
# Why a channel is paused (shown to admins in their language).
REMOVED, NO_RIGHTS, PAUSED = "removed", "no_rights", "paused"
TITLE_MAX = 128
PROBLEM_MAX = 200


class ChannelError(Exception):
    """A request about channels that cannot be done; the message says why."""


@dataclass(frozen=True)
class ChannelView:
    id: int
    title: str
    language: str | None
    active: bool
    problem: str | None

    @property
    def ready(self) -> bool:
        """Posts can go there: active, and its language is known."""
        return self.active and self.language is not None


def _view(row: Channel) -> ChannelView:
    return ChannelView(row.id, row.title, row.language, row.active, row.problem)


async def _audit(session: AsyncSession, action: str, detail: str, by: int | None) -> None:
    session.add(AuditEntry(staff_id=by, action=action, detail=detail[:200]))
    await session.flush()


async def register(
    session: AsyncSession,
    keys: Keys,
    *,
    chat_id: int,
    title: str,
    by: int | None,
    language: str | None = None,
) -> ChannelView:
    """Add a channel, or re-activate and rename a known one (its language is kept unless
    given)."""
    if chat_id >= 0:
        raise ChannelError("not a channel id")
    if language is not None and language not in LANGUAGES:
        raise ChannelError(f"unknown language {language!r}")
    key = keys.channel_key(chat_id)
    row = await session.scalar(select(Channel).where(Channel.key == key))
    if row is None:
        row = Channel(key=key, chat_ref=keys.encrypt_chat_id(chat_id), added_by=by)
        session.add(row)
    row.title = (title.strip() or "?")[:TITLE_MAX]
    row.active = True
    row.problem = None
    if language is not None:
        row.language = language
    await session.flush()
    await _audit(session, "channel_add", f"channel={row.id}", by)
    return _view(row)


async def set_language(
    session: AsyncSession, channel_id: int, language: str, *, by: int | None
) -> ChannelView:
    if language not in LANGUAGES:
        raise ChannelError(f"unknown language {language!r}")
    row = await session.get(Channel, channel_id)
    if row is None:
        raise ChannelError("no such channel")
    row.language = language
    await session.flush()
    await _audit(session, "channel_language", f"channel={row.id} language={language}", by)
    return _view(row)


async def deactivate(
    session: AsyncSession, channel_id: int, problem: str, *, by: int | None = None
) -> ChannelView | None:
    """Stop posting there, with the reason for the admins. None if unknown; idempotent."""
    row = await session.get(Channel, channel_id)
    if row is None:
        return None
    was_active = row.active
    row.active = False
    row.problem = problem[:PROBLEM_MAX]
    await session.flush()
    if was_active:
        await _audit(session, "channel_off", f"channel={row.id} {problem}", by)
    return _view(row)


async def find_by_chat(session: AsyncSession, keys: Keys, chat_id: int) -> ChannelView | None:
    row = await session.scalar(select(Channel).where(Channel.key == keys.channel_key(chat_id)))
    return _view(row) if row else None


async def get(session: AsyncSession, channel_id: int) -> ChannelView | None:
    row = await session.get(Channel, channel_id)
    return _view(row) if row else None


async def list_channels(session: AsyncSession, *, active_only: bool = False) -> list[ChannelView]:
    query = select(Channel).order_by(Channel.language, Channel.title, Channel.id)
    if active_only:
        query = query.where(Channel.active.is_(True))
    return [_view(row) for row in await session.scalars(query)]


async def chat_ref(session: AsyncSession, channel_id: int) -> bytes:
    value = await session.scalar(select(Channel.chat_ref).where(Channel.id == channel_id))
    if value is None:
        raise ChannelError("no such channel")
    return value


async def chat_id(session: AsyncSession, keys: Keys, channel_id: int) -> int:
    return keys.decrypt_chat_id(await chat_ref(session, channel_id))
