"""Joining and leaving the team: members added by an admin (CLI), invites, removal.

Only an admin (CLI) or a one-time invite token that expires lets someone in; only the token's
SHA-256 is stored. Every change is audited by database id (bot/services/staff.py).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.languages import LANGUAGES
from bot.models import Invite, Staff
from bot.services import queue, staff
from bot.services.staff import StaffError, StaffView
from bot.services.staff_names import validate_display_name

INVITE_PREFIX = "inv_"
INVITE_MAX_HOURS = 168  # a week: a forgotten link should not stay a way in for long
# A /start payload is at most 64 characters of A-Z, a-z, 0-9, _ and -.
_INVITE_RE = re.compile(r"^inv_[A-Za-z0-9_-]{16,60}$")


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
    # Checked in this order, so the first problem is the one reported.
    telegram_id = staff.check_telegram_id(telegram_id)
    display_name = validate_display_name(display_name)
    role = staff.check_role(role)
    chosen_languages = staff.choose(languages, LANGUAGES, "languages", keep_order=True)
    chosen_topics = staff.choose(topics, staff.STAFF_TOPICS, "topics")
    row = await _upsert(
        session,
        keys,
        telegram_id=telegram_id,
        display_name=display_name,
        role=role,
        languages=chosen_languages,
        topics=() if role in queue.NON_CONSULTING_ROLES else chosen_topics,
    )
    await staff.audit(session, "staff_add", f"staff={row.id} role={row.role}", by=by)
    return staff.view_of(row)


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
    if not cast("CursorResult[tuple[()]]", result).rowcount:
        return False
    await staff.audit(session, "staff_remove", f"staff={staff_id}", by=by)
    return True


# --- Invites -------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_invite(
    session: AsyncSession, *, role: str, ttl_hours: int = 48, by: int | None = None
) -> str:
    """A one-time token ("inv_...", fits a /start deep link); only its SHA-256 is stored."""
    role = staff.check_role(role)
    if not 1 <= ttl_hours <= INVITE_MAX_HOURS:
        raise StaffError(f"an invite is valid for 1 to {INVITE_MAX_HOURS} hours")
    token = INVITE_PREFIX + secrets.token_urlsafe(18)
    invite = Invite(
        token_hash=_token_hash(token),
        role=role,
        expires_at=staff.now() + timedelta(hours=ttl_hours),
        used_at=None,
    )
    session.add(invite)
    await session.flush()
    await staff.audit(
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
    telegram_id = staff.check_telegram_id(telegram_id)
    display_name = validate_display_name(display_name)  # before the invite is used up
    if not isinstance(token, str) or not _INVITE_RE.match(token):
        raise StaffError("this invite is not valid")
    if await staff.find_by_telegram(session, keys, telegram_id) is not None:
        raise StaffError("you are already on the team; ask an admin to change your role")
    token_hash = _token_hash(token)
    now = staff.now()
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
        topics=() if role in queue.NON_CONSULTING_ROLES else tuple(staff.STAFF_TOPICS),
    )
    await staff.audit(
        session, "invite_redeem", f"invite={invite_id} staff={row.id} role={role}", by=row.id
    )
    return staff.view_of(row)
