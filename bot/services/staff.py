"""Staff: consultants, lawyers, psychologists, medics, supervisors and admins; invites.

A staff member is known like a client: by an HMAC of their Telegram id, with the chat id only
encrypted, so a seized database does not list the organisation's volunteers. They join only
through an admin (CLI) or a one-time invite token that expires; only the token's SHA-256 is
stored. Their display name is what clients see, so it must not look like the bot or a system
message (shared/SECURITY.md, "someone impersonates a consultant").

Audit entries: `staff_id` is who did it (None from the CLI), `detail` names what it was done to,
by database id only — never a Telegram id.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import awaiting as awaiting_
from bot.crypto import Keys
from bot.languages import LANGUAGES
from bot.models import AuditEntry, Invite, Staff
from bot.services import queue

# One list each, shared with the queue that matches conversations to staff.
ROLES = queue.ROLES
STAFF_TOPICS = queue.TOPICS

NAME_MAX = 40
MAX_ACTIVE_LIMIT = 20
INVITE_PREFIX = "inv_"
INVITE_MAX_HOURS = 168  # a week: a forgotten link should not stay a way in for long
# A /start payload is at most 64 characters of A-Z, a-z, 0-9, _ and -.
_INVITE_RE = re.compile(r"^inv_[A-Za-z0-9_-]{16,60}$")


class StaffError(Exception):
    """A request about staff that cannot be done; the message says why, for the person asking."""


@dataclass(frozen=True)
class StaffView:
    id: int
    display_name: str
    role: str
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    on_duty: bool
    max_active: int
    active: bool
    current_conversation_id: int | None
    # What their next plain message means (e.g. a post's text), while it has not lapsed;
    # `lapsed` is one that ran out unfinished (the front door clears it and says so).
    awaiting: awaiting_.StaffInput | None = None
    lapsed: awaiting_.StaffInput | None = None
    # In a practice conversation (handlers/practice.py), while it has not lapsed.
    practice: awaiting_.Practice | None = None

    @property
    def can_supervise(self) -> bool:
        return self.role in ("supervisor", "admin")


def _view(row: Staff) -> StaffView:
    value, lapsed = awaiting_.current(row.awaiting, row.awaiting_until, datetime.now(UTC))
    return StaffView(
        id=row.id,
        display_name=row.display_name,
        role=row.role,
        languages=row.languages,
        topics=row.topics,
        on_duty=row.on_duty,
        max_active=row.max_active,
        active=row.active,
        current_conversation_id=row.current_conversation_id,
        awaiting=awaiting_.as_staff(value),
        lapsed=awaiting_.as_staff(lapsed),
        practice=awaiting_.as_practice(value),
    )


# --- Validation ----------------------------------------------------------------------------

# Words that would make a name read as the bot, the organisation or a system notice. Checked
# on each word with look-alike letters folded (Cyrillic "о" for Latin "o" and back) and with
# everything but letters removed, so "P.e.e.r-line" or "Аdmin" with a Cyrillic A do not pass.
_RESERVED = (
    "peerline",
    "admin",
    "support",
    "system",
    "модератор",
    "администратор",
    "админ",
    "служба",
    "поддержк",  # ru: support
    "підтримк",  # uk: support
    "систем",  # ru/uk: system
)
# "bot" only at the end of a word ("HelpBot", "support bot", "Бот"): Kazakh names such as
# Botagoz and Bota start with it.
_RESERVED_SUFFIXES = ("bot", "бот")
_LINK_PARTS = ("http", "www.", "t.me", "://")
# Punctuation a person's name may contain; anything else (<, >, @, /, #, markdown) is refused.
_NAME_PUNCTUATION = frozenset(" .,-'’()")
_ZWJ, _VS16 = "\u200d", "\ufe0f"  # inside emoji sequences such as the health worker emoji

# Cyrillic and Greek letters that look Latin (only for the check; the name is kept as given).
_TO_LATIN = str.maketrans(
    "АВЕКМНОРСТХУЅІЈаеорсхуіјѕһԁΑΒΕΗΙΚΜΝΟΡΤΧΥΖαοιρν",
    "ABEKMHOPCTXYSIJaeopcxyijshdABEHIKMNOPTXYZaoipv",
)
_LAT_TO_CYR = str.maketrans("ABEKMHOPCTXYaeopcxy", "АВЕКМНОРСТХУаеорсху")


def _letters_only(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch).startswith("L"))


def validate_display_name(name: str) -> str:
    """The name as it will be stored (whitespace collapsed), or StaffError saying why not."""
    name = unicodedata.normalize("NFC", " ".join(str(name).split()))
    if not name:
        raise StaffError("the display name is empty")
    if len(name) > NAME_MAX:
        raise StaffError(f"the display name is longer than {NAME_MAX} characters")
    for ch in name:
        category = unicodedata.category(ch)
        if ch in (_ZWJ, _VS16) or category[0] in "LMN" or category == "So":
            continue
        if ch in _NAME_PUNCTUATION:
            continue
        raise StaffError(
            f"the display name may not contain {ch!r}: use letters, digits, spaces, "
            "emoji and . , - ' ( )"
        )
    if not unicodedata.category(name[0]).startswith("L"):
        # Notices start with an icon ("⚠️ ...", "✅ ..."); a person's name starts with a letter.
        raise StaffError("the display name must start with a letter")
    folded = unicodedata.normalize("NFKC", name)
    variants = {
        folded.translate(_TO_LATIN).casefold(),
        folded.translate(_LAT_TO_CYR).casefold(),
    }
    for variant in variants:
        if any(part in variant for part in _LINK_PARTS):
            raise StaffError("the display name may not contain a link")
        # Letters only within each word: "P.e.e.r-line" is caught, while "Asad Mina" is not
        # taken for "admin".
        words = [_letters_only(word) for word in variant.split()]
        for reserved in _RESERVED:
            if any(reserved in word for word in words):
                raise StaffError(
                    f"the display name may not contain {reserved!r}: clients could take it "
                    "for the bot or a system message"
                )
        for suffix in _RESERVED_SUFFIXES:
            if any(word.endswith(suffix) for word in words):
                raise StaffError(
                    f"the display name may not end a word in {suffix!r}: clients could take "
                    "it for a bot"
                )
    return name


def _choose(
    values: Iterable[str] | None, allowed: tuple[str, ...], what: str, *, keep_order: bool = False
) -> tuple[str, ...]:
    """In the canonical order (or the caller's, with keep_order); None: all."""
    if values is None:
        return allowed
    if isinstance(values, str):
        values = values.split(",")
    chosen = {v.strip().lower() for v in values if v.strip()}
    unknown = sorted(chosen - set(allowed))
    if unknown:
        raise StaffError(f"unknown {what} {', '.join(unknown)}: choose from {', '.join(allowed)}")
    if not chosen:
        raise StaffError(f"choose at least one of the {what}: {', '.join(allowed)}")
    if keep_order:  # languages: the first one is the language the member reads the bot in
        ordered = dict.fromkeys(v.strip().lower() for v in values if v.strip())
        return tuple(ordered)
    return tuple(v for v in allowed if v in chosen)


def _check_role(role: str) -> str:
    role = role.strip().lower()
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r}: choose from {', '.join(ROLES)}")
    return role


def _check_telegram_id(telegram_id: int) -> int:
    if isinstance(telegram_id, bool) or not isinstance(telegram_id, int) or telegram_id <= 0:
        raise StaffError("a Telegram user id is a positive number")
    return telegram_id


# --- Members -------------------------------------------------------------------------------


async def _row(session: AsyncSession, staff_id: int) -> Staff | None:
    return await session.scalar(
        select(Staff).where(Staff.id == staff_id).execution_options(populate_existing=True)
    )


async def _audit(session: AsyncSession, action: str, detail: str, *, by: int | None = None) -> None:
    session.add(AuditEntry(staff_id=by, action=action, detail=detail))
    await session.flush()


async def _upsert(
    session: AsyncSession,
    keys: Keys,
    *,
    telegram_id: int,
    display_name: str,
    role: str,
    languages: tuple[str, ...],
    topics: tuple[str, ...],
) -> Staff:
    key = keys.staff_key(telegram_id)
    row = await session.scalar(select(Staff).where(Staff.key == key))
    if row is None:
        row = Staff(key=key, on_duty=False, max_active=3)
        session.add(row)
    elif not row.active:
        # Back after a removal: start off duty, not in the middle of an old conversation.
        row.on_duty = False
        row.current_conversation_id = None
    row.chat_ref = keys.encrypt_chat_id(telegram_id)
    row.display_name = display_name
    row.role = role
    row.languages = languages
    row.topics = topics
    row.active = True
    await session.flush()
    return row


async def add_staff(
    session: AsyncSession,
    keys: Keys,
    *,
    telegram_id: int,
    display_name: str,
    role: str,
    languages: Iterable[str] | None = None,
    topics: Iterable[str] | None = None,
    by: int | None = None,
) -> StaffView:
    """Add a member, or update and re-activate one (also a removed one) with this Telegram id.

    `languages` and `topics` default to all. `by` is the staff id of whoever does it, if any.
    """
    values = {
        "telegram_id": _check_telegram_id(telegram_id),
        "display_name": validate_display_name(display_name),
        "role": _check_role(role),
        "languages": _choose(languages, LANGUAGES, "languages", keep_order=True),
        "topics": _choose(topics, STAFF_TOPICS, "topics"),
    }
    if values["role"] in queue.NON_CONSULTING_ROLES:
        values["topics"] = ()
    row = await _upsert(session, keys, **values)  # type: ignore[arg-type]
    await _audit(session, "staff_add", f"staff={row.id} role={row.role}", by=by)
    return _view(row)


def view_of(row: Staff) -> StaffView:
    """The view of a staff row loaded elsewhere (e.g. by the front door's one query)."""
    return _view(row)


async def find_by_telegram(session: AsyncSession, keys: Keys, telegram_id: int) -> StaffView | None:
    """The active member with this Telegram id, if any (removed members are not staff)."""
    row = await session.scalar(
        select(Staff).where(Staff.key == keys.staff_key(telegram_id), Staff.active.is_(True))
    )
    return _view(row) if row else None


async def get(session: AsyncSession, staff_id: int) -> StaffView | None:
    """The member with this id, removed or not (see `.active`)."""
    row = await _row(session, staff_id)
    return _view(row) if row else None


async def list_staff(session: AsyncSession, include_removed: bool = False) -> list[StaffView]:
    query = select(Staff).order_by(Staff.id).execution_options(populate_existing=True)
    if not include_removed:
        query = query.where(Staff.active.is_(True))
    return [_view(row) for row in await session.scalars(query)]


async def remove_staff(session: AsyncSession, staff_id: int, *, by: int | None = None) -> bool:
    """Take a member off the team at once. False if there is no active member with this id.

    Their conversations are not touched here: releasing them back to the queue is the queue's.
    """
    result = await session.execute(
        update(Staff)
        .where(Staff.id == staff_id, Staff.active.is_(True))
        .values(active=False, on_duty=False, current_conversation_id=None)
        .execution_options(synchronize_session="fetch")
    )
    if not result.rowcount:
        return False
    await _audit(session, "staff_remove", f"staff={staff_id}", by=by)
    return True


async def set_awaiting(
    session: AsyncSession, staff_id: int, value: awaiting_.StaffInput | awaiting_.Practice | None
) -> None:
    """What the member's next plain message means, until it lapses (None: an answer to a
    client, as usual)."""
    until = awaiting_.expires_at(value, datetime.now(UTC)) if value is not None else None
    raw = awaiting_.encode(value) if value is not None else None
    await session.execute(
        update(Staff).where(Staff.id == staff_id).values(awaiting=raw, awaiting_until=until),
        execution_options={"synchronize_session": False},
    )


async def set_duty(session: AsyncSession, staff_id: int, on: bool | None) -> StaffView:
    """Go on or off duty; None toggles. StaffError for an unknown or removed member, and
    for a role that takes no conversations."""
    before = (
        await session.execute(select(Staff.role, Staff.on_duty).where(Staff.id == staff_id))
    ).one_or_none()
    role, was_on = before if before is not None else (None, False)
    if role in queue.NON_CONSULTING_ROLES and on is not False:
        raise StaffError("channel admins write posts and take no conversations")
    value = not_(Staff.on_duty) if on is None else bool(on)
    result = await session.execute(
        update(Staff)
        .where(Staff.id == staff_id, Staff.active.is_(True))
        .values(on_duty=value)
        .execution_options(synchronize_session="fetch")
    )
    if not result.rowcount:
        raise StaffError(f"no active staff member with id {staff_id}")
    row = await _row(session, staff_id)
    assert row is not None
    # A shift starts when they go on duty (its length drives the rest reminder, once a shift);
    # any change of duty by hand ends a break they were on (bot/services/care.py).
    if not row.on_duty:
        row.on_duty_since = row.duty_reminded_at = None
    elif not was_on or row.on_duty_since is None:
        row.on_duty_since, row.duty_reminded_at = _now(), None
    row.break_until = None
    await session.flush()
    return _view(row)


async def on_duty_for(
    session: AsyncSession, *, language: str, topic: str, urgent: bool = False
) -> list[StaffView]:
    """Active members on duty who serve this language and topic; everyone on duty if urgent.

    Their current load (max_active) is the queue's to weigh.
    """
    rows = await session.scalars(
        select(Staff)
        .where(Staff.active.is_(True), Staff.on_duty.is_(True))
        .order_by(Staff.id)
        .execution_options(populate_existing=True)
    )
    staff = [_view(row) for row in rows]
    if urgent:
        return staff
    return [s for s in staff if language in s.languages and topic in s.topics]


async def set_profile(
    session: AsyncSession,
    staff_id: int,
    *,
    display_name: str | None = None,
    topics: Iterable[str] | None = None,
    max_active: int | None = None,
) -> StaffView:
    """Change what a member may change about themselves; the others stay as they are."""
    changes: dict[str, object] = {}
    if display_name is not None:
        changes["display_name"] = validate_display_name(display_name)
    if topics is not None:
        changes["topics"] = _choose(topics, STAFF_TOPICS, "topics")
    if max_active is not None:
        if not 1 <= max_active <= MAX_ACTIVE_LIMIT:
            raise StaffError(f"at most 1 to {MAX_ACTIVE_LIMIT} conversations at once")
        changes["max_active"] = max_active
    row = await _row(session, staff_id)
    if row is None or not row.active:
        raise StaffError(f"no active staff member with id {staff_id}")
    for name, value in changes.items():
        setattr(row, name, value)
    await session.flush()
    return _view(row)


async def chat_ref(session: AsyncSession, staff_id: int) -> bytes:
    """The member's encrypted chat id (removed members too: they may be told so)."""
    ref = await session.scalar(select(Staff.chat_ref).where(Staff.id == staff_id))
    if ref is None:
        raise StaffError(f"no staff member with id {staff_id}")
    return ref


# --- Invites -------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


async def create_invite(
    session: AsyncSession, *, role: str, ttl_hours: int = 48, by: int | None = None
) -> str:
    """A one-time token ("inv_...", fits a /start deep link); only its SHA-256 is stored."""
    role = _check_role(role)
    if not 1 <= ttl_hours <= INVITE_MAX_HOURS:
        raise StaffError(f"an invite is valid for 1 to {INVITE_MAX_HOURS} hours")
    token = INVITE_PREFIX + secrets.token_urlsafe(18)
    invite = Invite(
        token_hash=_token_hash(token),
        role=role,
        expires_at=_now() + timedelta(hours=ttl_hours),
        used_at=None,
    )
    session.add(invite)
    await session.flush()
    await _audit(
        session, "invite_create", f"invite={invite.id} role={role} hours={ttl_hours}", by=by
    )
    return token


async def redeem_invite(
    session: AsyncSession,
    keys: Keys,
    *,
    token: str,
    telegram_id: int,
    display_name: str,
    language: str | None = None,
) -> StaffView:
    """Join the team with an invite: once, before it expires. StaffError otherwise.

    The invite is marked used by one conditional UPDATE, so of two people redeeming it at
    once exactly one succeeds. Someone already on the team cannot use (and use up) one.
    """
    telegram_id = _check_telegram_id(telegram_id)
    display_name = validate_display_name(display_name)  # before the invite is used up
    if not isinstance(token, str) or not _INVITE_RE.match(token):
        raise StaffError("this invite is not valid")
    if await find_by_telegram(session, keys, telegram_id) is not None:
        raise StaffError("you are already on the team; ask an admin to change your role")
    token_hash = _token_hash(token)
    now = _now()
    claimed = (
        await session.execute(
            update(Invite)
            .where(
                Invite.token_hash == token_hash,
                Invite.used_at.is_(None),
                Invite.expires_at > now,
            )
            .values(used_at=now)
            .returning(Invite.id, Invite.role)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if claimed is None:
        known = (
            await session.execute(select(Invite.used_at).where(Invite.token_hash == token_hash))
        ).first()
        if known is None:
            raise StaffError("this invite is not valid")
        if known.used_at is not None:
            raise StaffError("this invite has already been used")
        raise StaffError("this invite has expired; ask for a new one")
    invite_id, role = claimed
    row = await _upsert(
        session,
        keys,
        telegram_id=telegram_id,
        display_name=display_name,
        role=role,
        # All languages, the one their Telegram app uses first: they read the bot in it.
        languages=tuple(
            dict.fromkeys([*([language] if language in LANGUAGES else []), *LANGUAGES])
        ),
        topics=() if role in queue.NON_CONSULTING_ROLES else STAFF_TOPICS,
    )
    await _audit(
        session, "invite_redeem", f"invite={invite_id} staff={row.id} role={role}", by=row.id
    )
    return _view(row)
