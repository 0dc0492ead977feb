"""The copies of a published post in its channels: how far their delivery is, changing
their text, taking them down. Each copy is an outbox row (bot/services/post_publish.py); an
edit or a deletion is one more row, sent behind replies to clients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Channel, Outbox, Post, PostChannel, PostVersion
from bot.services import outbox
from bot.services.post_drafts import check_version
from bot.services.post_publish import SEND_METHODS, send_params
from bot.services.posts import (
    DELETED,
    NO_SYNC,
    PUBLISHED,
    PostError,
    Version,
    audit,
    require,
    utcnow,
)

_SENT_KINDS = tuple(SEND_METHODS.values())


@dataclass(frozen=True)
class Delivery:
    """How a post went out: per channel, and the subscribers as counts."""

    channels: tuple[tuple[int, str, str, str | None], ...]  # (id, title, status, error)
    subscribers: dict[str, int]  # status -> count


async def delivery(session: AsyncSession, post_id: int) -> Delivery:
    """Where the post went and how far the broadcast is (from its outbox rows)."""
    titles = dict(
        (
            await session.execute(
                select(Channel.id, Channel.title)
                .join(PostChannel, PostChannel.channel_id == Channel.id)
                .where(PostChannel.post_id == post_id)
            )
        ).all()
    )
    rows = await session.execute(
        select(Outbox.recipient, Outbox.status, Outbox.last_error)
        .where(Outbox.post_id == post_id, Outbox.method.in_(_SENT_KINDS))
        .order_by(Outbox.id)
    )
    channel_rows: list[tuple[int, str, str, str | None]] = []
    subscribers: dict[str, int] = {}
    for recipient, status, error in rows:
        kind, _, ident = recipient.partition(":")
        if kind == "channel":
            channel_id = int(ident)
            title = titles.get(channel_id, "?")
            channel_rows.append((channel_id, title, status, error))
        else:
            subscribers[status] = subscribers.get(status, 0) + 1
    return Delivery(tuple(channel_rows), subscribers)


async def _channel_copies(
    session: AsyncSession, post_id: int, statuses: Sequence[str]
) -> list[Outbox]:
    return list(
        await session.scalars(
            select(Outbox)
            .where(
                Outbox.post_id == post_id,
                Outbox.recipient.like("channel:%"),
                Outbox.method.in_(_SENT_KINDS),
                Outbox.status.in_(statuses),
            )
            .order_by(Outbox.id)
        )
    )


async def edit_published(
    session: AsyncSession,
    keys: Keys,
    post_id: int,
    language: str,
    *,
    text: str,
    keyboard: dict[str, Any] | None,
    by: int | None,
) -> int:
    """Change the text (or caption) of one language of a published post in its channels.

    Copies not sent yet get the new text; sent ones are edited in place. Returns how many
    channel messages change. The media itself stays (Telegram edits captions, not files).
    """
    await require(session, post_id, (PUBLISHED,))
    version = await session.scalar(
        select(PostVersion).where(PostVersion.post_id == post_id, PostVersion.language == language)
    )
    if version is None:
        raise PostError("no_version")
    check_version(version.kind, text, version.file_id)
    version.text = text
    new = Version(language, version.kind, text, version.file_id)
    languages = dict(
        (await session.execute(select(Channel.id, Channel.language))).all()
    )  # channel id -> language
    changed = 0
    for copy in await _channel_copies(session, post_id, (outbox.PENDING, outbox.SENT)):
        channel_id = int(copy.recipient.partition(":")[2])
        if languages.get(channel_id) != language:
            continue
        if copy.status == outbox.PENDING:
            copy.payload = outbox.encode_params(keys, send_params(new, keyboard)[1])
        elif copy.sent_message_id is not None:
            params: dict[str, Any] = {"message_id": copy.sent_message_id, "parse_mode": "HTML"}
            if new.kind == "text":
                method, params["text"] = "editMessageText", text
            else:
                method, params["caption"] = "editMessageCaption", text
            if keyboard:
                params["reply_markup"] = keyboard
            await outbox.enqueue(
                session,
                keys,
                chat_ref=copy.chat_ref,
                recipient=copy.recipient,
                method=method,
                params=params,
                priority=outbox.BROADCAST_PRIORITY,
                post_id=post_id,
            )
        else:
            continue
        changed += 1
    await session.flush()
    await audit(session, "post_edit", f"post={post_id} language={language} copies={changed}", by)
    return changed


async def delete_published(
    session: AsyncSession, keys: Keys, post_id: int, *, by: int | None
) -> int:
    """Take a published post down from its channels (and stop its broadcast to subscribers,
    if it is still going). Returns how many channel messages are deleted."""
    await require(session, post_id, (PUBLISHED,))
    removed = 0
    for copy in await _channel_copies(session, post_id, (outbox.SENT,)):
        if copy.sent_message_id is None:
            continue
        await outbox.enqueue(
            session,
            keys,
            chat_ref=copy.chat_ref,
            recipient=copy.recipient,
            method="deleteMessage",
            params={"message_id": copy.sent_message_id},
            priority=outbox.BROADCAST_PRIORITY,
            post_id=post_id,
        )
        removed += 1
    await session.execute(
        delete(Outbox).where(
            Outbox.post_id == post_id,
            Outbox.status == outbox.PENDING,
            Outbox.method.in_(_SENT_KINDS),
        ),
        execution_options=NO_SYNC,
    )
    await session.execute(
        update(Post).where(Post.id == post_id).values(status=DELETED, updated_at=utcnow()),
        execution_options=NO_SYNC,
    )
    await audit(session, "post_delete", f"post={post_id} copies={removed}", by)
    return removed
