"""Posts: written once in several languages, published to channels and to subscribers.

Life of a post: draft -> scheduled -> published, or draft -> published; a scheduled post can go
back to draft or be cancelled; a published one can be edited or deleted in its channels.

Publishing is one transaction: a conditional UPDATE moves the post to `published` (so two bot
processes, or a restart in the middle, never publish it twice) and the same transaction queues
one outbox row per channel and per subscriber, all tagged with the post. The delivery worker
sends them behind replies to clients (`BROADCAST_PRIORITY`), paced within Telegram's limits;
the rows are the broadcast's progress, so a restart resumes it without sending twice.

Each language version goes to the channels of that language and to subscribers who read the
bot in it. Texts are Telegram HTML. Posts are the organisation's public texts: not encrypted.
The outbox rows for subscribers are (their chat ids are), and they are purged with the rest.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.languages import LANGUAGES
from bot.models import AuditEntry, Channel, Client, Outbox, Post, PostChannel, PostVersion
from bot.services import outbox

DRAFT, SCHEDULED, PUBLISHED, CANCELLED, DELETED = (
    "draft",
    "scheduled",
    "published",
    "cancelled",
    "deleted",
)
EDITABLE = (DRAFT, SCHEDULED)
KINDS = ("text", "photo", "document")
BUTTON_KINDS = ("none", "consult", "node", "url")
# Telegram's limits, counted on the text a user sees (HTML tags are not counted by Telegram;
# counting them here keeps us on the safe side).
TEXT_MAX = 4096
CAPTION_MAX = 1024
LABEL_MAX = 64
SEND_METHODS = {"text": "sendMessage", "photo": "sendPhoto", "document": "sendDocument"}
_SENT_KINDS = tuple(SEND_METHODS.values())
_NO_SYNC = {"synchronize_session": False}
_TAG = re.compile(r"<[^>]*>")
_URL = re.compile(r"^(https://|tg://)\S{3,290}$")


class PostError(Exception):
    """Something about a post that cannot be done; the code names it for the handler."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Version:
    language: str
    kind: str  # text | photo | document
    text: str
    file_id: str | None = None


@dataclass(frozen=True)
class PostView:
    id: int
    status: str
    author_id: int | None
    versions: dict[str, Version]
    button_kind: str
    button_target: str | None
    button_label: str | None
    to_subscribers: bool
    channel_ids: tuple[int, ...]
    scheduled_at: datetime | None
    published_at: datetime | None
    ready_slug: str | None
    created_at: datetime
    event_at: datetime | None = None  # an invitation: when the event is
    others_get: str | None = None  # the version readers of a language it lacks get

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(lang for lang in LANGUAGES if lang in self.versions)


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


@dataclass(frozen=True)
class Delivery:
    """How a post went out: per channel, and the subscribers as counts."""

    channels: tuple[tuple[int, str, str, str | None], ...]  # (id, title, status, error)
    subscribers: dict[str, int]  # status -> count


def utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- reading -----------------------------------------------------------------------------


async def get(session: AsyncSession, post_id: int) -> PostView | None:
    row = await session.get(Post, post_id, populate_existing=True)
    if row is None:
        return None
    versions = await session.scalars(select(PostVersion).where(PostVersion.post_id == post_id))
    channel_ids = await session.scalars(
        select(PostChannel.channel_id)
        .where(PostChannel.post_id == post_id)
        .order_by(PostChannel.channel_id)
    )
    return PostView(
        id=row.id,
        status=row.status,
        author_id=row.author_id,
        versions={v.language: Version(v.language, v.kind, v.text, v.file_id) for v in versions},
        button_kind=row.button_kind,
        button_target=row.button_target,
        button_label=row.button_label,
        to_subscribers=row.to_subscribers,
        channel_ids=tuple(channel_ids),
        scheduled_at=_utc(row.scheduled_at) if row.scheduled_at else None,
        published_at=_utc(row.published_at) if row.published_at else None,
        ready_slug=row.ready_slug,
        others_get=row.others_get,
        created_at=_utc(row.created_at),
        event_at=_utc(row.event_at) if row.event_at else None,
    )


async def _require(session: AsyncSession, post_id: int, statuses: Sequence[str]) -> Post:
    row = await session.get(Post, post_id, populate_existing=True)
    if row is None:
        raise PostError("not_found")
    if row.status not in statuses:
        raise PostError(f"status_{row.status}")
    return row


async def list_posts(
    session: AsyncSession, statuses: Sequence[str], *, limit: int = 10
) -> list[PostView]:
    """Newest first (scheduled ones by their time, soonest first)."""
    order = (
        (Post.scheduled_at, Post.id)
        if tuple(statuses) == (SCHEDULED,)
        else (Post.updated_at.desc(), Post.id.desc())
    )
    ids = await session.scalars(
        select(Post.id).where(Post.status.in_(statuses)).order_by(*order).limit(limit)
    )
    return [view for post_id in ids if (view := await get(session, post_id)) is not None]


async def subscribers_by_language(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Client.language, func.count())
        .where(Client.subscribed_at.is_not(None), Client.language.is_not(None))
        .group_by(Client.language)
    )
    return {language: n for language, n in rows}


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Post.status, func.count()).group_by(Post.status))
    return {status: n for status, n in rows}


# --- composing ---------------------------------------------------------------------------


async def _audit(session: AsyncSession, action: str, detail: str, by: int | None) -> None:
    session.add(AuditEntry(staff_id=by, action=action, detail=detail[:200]))
    await session.flush()


async def create(
    session: AsyncSession,
    *,
    author_id: int | None,
    versions: Mapping[str, str] | None = None,
    button_kind: str = "none",
    button_target: str | None = None,
    ready_slug: str | None = None,
) -> int:
    """A new draft (from a ready-made post when `versions` are given); returns its id.

    Every active channel is chosen to begin with, and subscribers too: the usual case.
    """
    row = Post(
        author_id=author_id,
        status=DRAFT,
        button_kind=button_kind,
        button_target=button_target,
        to_subscribers=True,
        ready_slug=ready_slug,
    )
    session.add(row)
    await session.flush()
    for language, text in (versions or {}).items():
        session.add(PostVersion(post_id=row.id, language=language, kind="text", text=text))
    active = await session.scalars(select(Channel.id).where(Channel.active.is_(True)))
    for channel_id in active:
        session.add(PostChannel(post_id=row.id, channel_id=channel_id))
    await session.flush()
    await _audit(session, "post_create", f"post={row.id}", author_id)
    return row.id


def plain_text(text: str) -> str:
    """What Telegram counts against its limits: the text without its HTML markup."""
    return html.unescape(_TAG.sub("", text))


def check_version(kind: str, text: str, file_id: str | None) -> None:
    if kind not in KINDS:
        raise PostError("bad_kind")
    if kind != "text" and not file_id:
        raise PostError("no_file")
    if kind == "text" and not text.strip():
        raise PostError("empty")
    if len(plain_text(text)) > (TEXT_MAX if kind == "text" else CAPTION_MAX):
        raise PostError("too_long" if kind == "text" else "caption_too_long")


async def set_version(
    session: AsyncSession,
    post_id: int,
    language: str,
    *,
    kind: str,
    text: str,
    file_id: str | None = None,
) -> None:
    """Write (or replace) one language of a draft or scheduled post."""
    if language not in LANGUAGES:
        raise PostError("bad_language")
    check_version(kind, text, file_id)
    post = await _require(session, post_id, EDITABLE)
    row = await session.scalar(
        select(PostVersion).where(PostVersion.post_id == post_id, PostVersion.language == language)
    )
    if row is None:
        row = PostVersion(post_id=post_id, language=language)
        session.add(row)
    row.kind, row.text, row.file_id = kind, text, file_id if kind != "text" else None
    post.updated_at = utcnow()
    await session.flush()


async def remove_version(session: AsyncSession, post_id: int, language: str) -> None:
    post = await _require(session, post_id, EDITABLE)
    await session.execute(
        delete(PostVersion).where(PostVersion.post_id == post_id, PostVersion.language == language)
    )
    post.updated_at = utcnow()
    await session.flush()


def check_url_button(label: str, url: str) -> None:
    if not label.strip() or len(label) > LABEL_MAX:
        raise PostError("bad_label")
    if not _URL.match(url.strip()):
        raise PostError("bad_url")


async def set_button(
    session: AsyncSession,
    post_id: int,
    kind: str,
    *,
    target: str | None = None,
    label: str | None = None,
) -> None:
    """The button under the post: none, consult (target: a menu node with a consult topic),
    node (target: a menu node) or url (label and target: an https:// link)."""
    if kind not in BUTTON_KINDS:
        raise PostError("bad_button")
    if kind == "url":
        check_url_button(label or "", target or "")
    elif kind in ("consult", "node") and not target:
        raise PostError("bad_button")
    post = await _require(session, post_id, EDITABLE)
    post.button_kind = kind
    post.button_target = target.strip() if target and kind != "none" else None
    post.button_label = label.strip() if label and kind == "url" else None
    post.updated_at = utcnow()
    await session.flush()


async def toggle_channel(session: AsyncSession, post_id: int, channel_id: int) -> bool:
    """Choose or un-choose a channel; returns whether it is chosen now."""
    await _require(session, post_id, EDITABLE)
    if await session.get(Channel, channel_id) is None:
        raise PostError("no_channel")
    result = await session.execute(
        delete(PostChannel).where(
            PostChannel.post_id == post_id, PostChannel.channel_id == channel_id
        )
    )
    if result.rowcount:
        return False
    session.add(PostChannel(post_id=post_id, channel_id=channel_id))
    await session.flush()
    return True


async def set_event(
    session: AsyncSession, post_id: int, event_at: datetime | None, *, now: datetime
) -> None:
    """Make the post an invitation to an event at `event_at` (None: not an invitation)."""
    if event_at is not None and _utc(event_at) <= _utc(now):
        raise PostError("in_past")
    post = await _require(session, post_id, EDITABLE)
    post.event_at = _utc(event_at) if event_at else None
    post.updated_at = utcnow()
    await session.flush()


def title_of(version: Version, limit: int = 120) -> str:
    """The first line of a version, as plain text (what a reminder calls the event)."""
    lines = [line.strip() for line in plain_text(version.text).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return first[:limit] + ("…" if len(first) > limit else "")


async def mark_ready(session: AsyncSession, post_id: int, slug: str) -> None:
    """Note which ready-made post this one was made from (a template must be filled in)."""
    post = await _require(session, post_id, EDITABLE)
    post.ready_slug = slug[:24]
    await session.flush()


async def set_others_get(session: AsyncSession, post_id: int, language: str | None) -> None:
    """Which version subscribers get whose language the post lacks (None: nothing)."""
    post = await _require(session, post_id, EDITABLE)
    if language is not None and language not in LANGUAGES:
        raise PostError("not_found")
    post.others_get = language
    await session.flush()


async def set_subscribers(session: AsyncSession, post_id: int, on: bool) -> None:
    post = await _require(session, post_id, EDITABLE)
    post.to_subscribers = on
    await session.flush()


async def _check_publishable(session: AsyncSession, post: PostView) -> None:
    if not post.versions:
        raise PostError("no_versions")
    if not post.channel_ids and not post.to_subscribers:
        raise PostError("no_audience")


async def schedule(
    session: AsyncSession, post_id: int, when: datetime, *, now: datetime, by: int | None
) -> None:
    """Publish at `when` (aware; stored UTC). It must be in the future."""
    when, now = _utc(when), _utc(now)
    if when <= now:
        raise PostError("in_past")
    if when > now + timedelta(days=366):
        raise PostError("too_far")
    view = await get(session, post_id)
    if view is None:
        raise PostError("not_found")
    await _check_publishable(session, view)
    post = await _require(session, post_id, EDITABLE)
    post.status, post.scheduled_at, post.updated_at = SCHEDULED, when, now
    await session.flush()
    await _audit(session, "post_schedule", f"post={post_id} at={when:%Y-%m-%d %H:%M}Z", by)


async def unschedule(session: AsyncSession, post_id: int, *, by: int | None) -> None:
    """Back to draft (it will not be published until scheduled again or published now)."""
    result = await session.execute(
        update(Post)
        .where(Post.id == post_id, Post.status == SCHEDULED)
        .values(status=DRAFT, scheduled_at=None, updated_at=utcnow()),
        execution_options=_NO_SYNC,
    )
    if not result.rowcount:
        await _require(session, post_id, (SCHEDULED,))
    await _audit(session, "post_unschedule", f"post={post_id}", by)


async def cancel(session: AsyncSession, post_id: int, *, by: int | None) -> None:
    """Drop a draft or a scheduled post (kept, as cancelled, for the log)."""
    result = await session.execute(
        update(Post)
        .where(Post.id == post_id, Post.status.in_(EDITABLE))
        .values(status=CANCELLED, updated_at=utcnow()),
        execution_options=_NO_SYNC,
    )
    if not result.rowcount:
        await _require(session, post_id, EDITABLE)
    await _audit(session, "post_cancel", f"post={post_id}", by)


async def due(session: AsyncSession, now: datetime) -> list[int]:
    """Scheduled posts whose time has come, oldest first."""
    ids = await session.scalars(
        select(Post.id)
        .where(Post.status == SCHEDULED, Post.scheduled_at <= _utc(now))
        .order_by(Post.scheduled_at, Post.id)
    )
    return list(ids)


async def next_due(session: AsyncSession) -> datetime | None:
    value = await session.scalar(
        select(func.min(Post.scheduled_at)).where(Post.status == SCHEDULED)
    )
    return _utc(value) if value else None


# --- publishing --------------------------------------------------------------------------


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


# A gap left in a ready-made template ("[CITY]", "[ГОРОД]"): never published.
TEMPLATE_GAP = re.compile(r"\[[^\]\n]{1,60}\]")


def without_version(view: PostView, subscribers: Mapping[str, int]) -> dict[str, int]:
    """Subscribers by language that this post has no version for (they get `others_get`'s
    version, or nothing)."""
    return {
        language: count
        for language, count in subscribers.items()
        if count and language not in view.versions
    }


def check_template(view: PostView, template_slugs: Collection[str]) -> None:
    """PostError("template") if the post was started from a template and a gap is left in
    any language. Checked by `publish` itself, so the scheduled path cannot skip it."""
    if view.ready_slug not in template_slugs:
        return
    if any(TEMPLATE_GAP.search(version.text or "") for version in view.versions.values()):
        raise PostError("template")


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
    now = _utc(now)
    view = await get(session, post_id)
    if view is None:
        raise PostError("not_found")
    check_template(view, template_slugs)
    await _check_publishable(session, view)
    condition = [Post.id == post_id]
    if scheduled:
        condition += [Post.status == SCHEDULED, Post.scheduled_at <= now]
    else:
        condition += [Post.status.in_(EDITABLE)]
    claimed = await session.execute(
        update(Post).where(*condition).values(status=PUBLISHED, published_at=now, updated_at=now),
        execution_options=_NO_SYNC,
    )
    if not claimed.rowcount:
        return None

    def row(recipient: str, chat_ref: bytes, language: str) -> tuple[bytes, str, str, dict]:  # type: ignore[type-arg]
        method, params = send_params(view.versions[language], keyboards.get(language))
        return chat_ref, recipient, method, params

    rows: list[tuple[bytes, str, str, dict[str, Any]]] = []
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
            assert version is not None
            rows.append(row(f"client:{client_id}", chat_ref, version))
            subscribers[language] = subscribers.get(language, 0) + 1
    await outbox.enqueue_many(session, keys, rows, post_id=post_id)
    channel_list = ",".join(str(c[0]) for c in sent_to) or "-"
    await _audit(
        session,
        "post_publish",
        f"post={post_id} channels={channel_list} subscribers={sum(subscribers.values())}",
        by if not scheduled else view.author_id,
    )
    return Published(post_id, tuple(sent_to), tuple(skipped), subscribers)


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
    await _require(session, post_id, (PUBLISHED,))
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
    await _audit(session, "post_edit", f"post={post_id} language={language} copies={changed}", by)
    return changed


async def delete_published(
    session: AsyncSession, keys: Keys, post_id: int, *, by: int | None
) -> int:
    """Take a published post down from its channels (and stop its broadcast to subscribers,
    if it is still going). Returns how many channel messages are deleted."""
    await _require(session, post_id, (PUBLISHED,))
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
        execution_options=_NO_SYNC,
    )
    await session.execute(
        update(Post).where(Post.id == post_id).values(status=DELETED, updated_at=utcnow()),
        execution_options=_NO_SYNC,
    )
    await _audit(session, "post_delete", f"post={post_id} copies={removed}", by)
    return removed


# --- the record of what was posted -------------------------------------------------------

LOGGED = ("post_", "channel_", "story_", "survey_")


@dataclass(frozen=True)
class LogLine:
    at: datetime
    who: str  # the staff member's display name, or "bot" for scheduled work
    action: str
    detail: str


async def log(session: AsyncSession, *, since: datetime) -> list[LogLine]:
    """Everything channel admins did since `since`, oldest first: who, what, where, when.
    Channel ids in details are shown with their titles. No client data is involved."""
    from bot.models import Staff

    titles = {
        str(cid): title for cid, title in await session.execute(select(Channel.id, Channel.title))
    }
    rows = await session.execute(
        select(AuditEntry.at, Staff.display_name, AuditEntry.action, AuditEntry.detail)
        .outerjoin(Staff, Staff.id == AuditEntry.staff_id)
        .where(AuditEntry.at >= _utc(since))
        .order_by(AuditEntry.id)
    )
    lines = []
    for at, who, action, detail in rows:
        if not action.startswith(LOGGED):
            continue
        text = re.sub(
            r"\b(channels?)=([\d,]+)",
            lambda m: (
                m.group(1) + "=" + ", ".join(titles.get(i, f"#{i}") for i in m.group(2).split(","))
            ),
            detail or "",
        )
        lines.append(LogLine(_utc(at), who or "bot", action, text))
    return lines


# --- when: "25.12 10:00", "2026-12-25 10:00", "10:00", "+30" ----------------------------

_DATE_TIME = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})$"), ("y", "m", "d", "H", "M")),
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}) (\d{1,2}):(\d{2})$"), ("d", "m", "y", "H", "M")),
    (re.compile(r"^(\d{1,2})\.(\d{1,2}) (\d{1,2}):(\d{2})$"), ("d", "m", "H", "M")),
    (re.compile(r"^(\d{1,2}):(\d{2})$"), ("H", "M")),
)
_IN_MINUTES = re.compile(r"^\+\s*(\d{1,5})$")


def parse_when(text: str, now: datetime, zone: tzinfo) -> datetime | None:
    """A time typed by an admin, in the organisation's time zone, as aware UTC; None if it
    is not one of the forms. A day without a year is the next such day; a time alone is
    today, or tomorrow when today's has passed. "+30" is thirty minutes from now."""
    text = " ".join(text.strip().split())
    now = _utc(now)
    minutes = _IN_MINUTES.match(text)
    if minutes:
        return now + timedelta(minutes=int(minutes.group(1)))
    local_now = now.astimezone(zone)
    for pattern, names in _DATE_TIME:
        match = pattern.match(text)
        if not match:
            continue
        parts = dict(zip(names, (int(g) for g in match.groups()), strict=True))
        try:
            day = date(
                parts.get("y", local_now.year),
                parts.get("m", local_now.month),
                parts.get("d", local_now.day),
            )
            moment = datetime(day.year, day.month, day.day, parts["H"], parts["M"], tzinfo=zone)
        except ValueError:
            return None
        if moment <= local_now and "y" not in parts:
            if "d" in parts:  # "25.12" already passed this year: next year's
                try:
                    moment = moment.replace(year=moment.year + 1)
                except ValueError:
                    return None
            else:  # a time already passed today: tomorrow's
                moment = moment + timedelta(days=1)
        return moment.astimezone(UTC)
    return None
