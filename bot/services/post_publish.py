"""Publishing a post, now or at its scheduled time: one transaction.

A conditional UPDATE moves the post to `published` (so two bot processes, or a restart in the
middle, never publish it twice) and the same transaction queues one outbox row per channel and
per subscriber, all tagged with the post. The delivery worker sends them behind replies to
clients (`BROADCAST_PRIORITY`), paced within Telegram's limits; the rows are the broadcast's
progress, so a restart resumes it without sending twice.

Each language version goes to the channels of that language and to subscribers who read the
bot in it. The outbox rows for subscribers are encrypted (their chat ids are), and they are
purged with the rest.

The template check ([gaps] left in a ready-made template) is made here, in `publish`, so no
path (the button, the scheduler, a script) can skip it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.models import Channel, Client, Post
from bot.services import outbox
from bot.services.posts import (
    EDITABLE,
    NO_SYNC,
    PUBLISHED,
    SCHEDULED,
    PostError,
    Version,
    as_utc,
    audit,
    changed,
    check_publishable,
    check_template,
    get,
)

SEND_METHODS = {"text": "sendMessage", "photo": "sendPhoto", "document": "sendDocument"}
# (chat ref, recipient, Bot API method, its parameters): one outbox row to be queued.
OutboxRow = tuple[bytes, str, str, dict[str, Any]]


@dataclass(frozen=True)
class Skipped:
    channel_id: int
    title: str
    reason: str  # inactive | no_language | no_version


@dataclass(frozen=True)
class Published:
    post_id: int
    channels: tuple[tuple[int, str, str], ...]  # (channel id, title, language)
    skipped: tuple[Skipped, ...]
    subscribers: dict[str, int] = field(default_factory=dict)  # language -> how many


def send_params(version: Version, keyboard: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The Bot API call that shows this version (as it will look everywhere: the preview
    uses it too)."""
    params: dict[str, Any] = {"parse_mode": "HTML"}
    if version.kind == "text":
        params["text"] = version.text
    else:
        params[version.kind] = version.file_id
        if version.text:
            params["caption"] = version.text
    if keyboard:
        params["reply_markup"] = keyboard
    return SEND_METHODS[version.kind], params


async def publish(
    session: AsyncSession,
    keys: Keys,
    post_id: int,
    *,
    now: datetime,
    keyboards: Mapping[str, dict[str, Any] | None],
    template_slugs: Collection[str],
    scheduled: bool = False,
    by: int | None = None,
) -> Published | None:
    """Publish now (a draft or scheduled post) or, with `scheduled`, a scheduled post that
    is due. Returns None when it is not (any more) in that state: someone else published it.

    `keyboards` maps a language to its `reply_markup` (the button in that language);
    `template_slugs` names the ready-made posts that are templates (see `check_template`).
    """
    now = as_utc(now)
    view = await get(session, post_id)
    if view is None:
        raise PostError("not_found")
    check_template(view, template_slugs)
    check_publishable(view)
    condition = [Post.id == post_id]
    if scheduled:
        condition += [Post.status == SCHEDULED, Post.scheduled_at <= now]
    else:
        condition += [Post.status.in_(EDITABLE)]
    claimed = await session.execute(
        update(Post).where(*condition).values(status=PUBLISHED, published_at=now, updated_at=now),
        execution_options=NO_SYNC,
    )
    if not changed(claimed):
        return None

    def row(recipient: str, chat_ref: bytes, language: str) -> OutboxRow:
        method, params = send_params(view.versions[language], keyboards.get(language))
        return chat_ref, recipient, method, params

    rows: list[OutboxRow] = []
    sent_to: list[tuple[int, str, str]] = []
    skipped: list[Skipped] = []
    if view.channel_ids:
        chosen = await session.scalars(
            select(Channel).where(Channel.id.in_(view.channel_ids)).order_by(Channel.id)
        )
        for channel in chosen:
            reason = (
                "inactive"
                if not channel.active
                else "no_language"
                if channel.language is None
                else "no_version"
                if channel.language not in view.versions
                else None
            )
            if reason:
                skipped.append(Skipped(channel.id, channel.title, reason))
                continue
            assert channel.language is not None
            rows.append(row(f"channel:{channel.id}", channel.chat_ref, channel.language))
            sent_to.append((channel.id, channel.title, channel.language))
    subscribers: dict[str, int] = {}
    if view.to_subscribers:
        others = view.others_get if view.others_get in view.versions else None
        wanted = Client.language.is_not(None) if others else Client.language.in_(view.languages)
        readers = await session.execute(
            select(Client.id, Client.chat_ref, Client.language)
            .where(Client.subscribed_at.is_not(None), wanted)
            .order_by(Client.id)
        )
        for client_id, chat_ref, language in readers:
            version = language if language in view.versions else others
            if language is None or version is None:  # not asked for by the query above
                continue
            rows.append(row(f"client:{client_id}", chat_ref, version))
            subscribers[language] = subscribers.get(language, 0) + 1
    await outbox.enqueue_many(session, keys, rows, post_id=post_id)
    channel_list = ",".join(str(c[0]) for c in sent_to) or "-"
    await audit(
        session,
        "post_publish",
        f"post={post_id} channels={channel_list} subscribers={sum(subscribers.values())}",
        by if not scheduled else view.author_id,
    )
    return Published(post_id, tuple(sent_to), tuple(skipped), subscribers)
