"""The flood limit and blocks (bot/services/abuse.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import Keys
from bot.models import AuditEntry, Block, Client
from bot.services import abuse
from bot.services.abuse import FloodVerdict
from bot.services.requests import ensure_pseudonym
from tests.conftest import TEST_SECRET
from tests.test_queue import new_client, new_staff, settled

KEYS = Keys(TEST_SECRET)
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ALLOWED, WARN, SILENT = (
    FloodVerdict(True, False),
    FloodVerdict(False, True),
    FloodVerdict(False, False),
)


async def count(
    session: AsyncSession, client_id: int, seconds: float = 0, **kwargs
) -> FloodVerdict:
    return await abuse.count_message(
        session, client_id, now=T0 + timedelta(seconds=seconds), **kwargs
    )


async def audit_rows(session: AsyncSession) -> list[tuple[int | None, str, int | None, str | None]]:
    rows = await session.execute(
        select(
            AuditEntry.staff_id, AuditEntry.action, AuditEntry.conversation_id, AuditEntry.detail
        ).order_by(AuditEntry.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def named_client(session: AsyncSession) -> tuple[int, str]:
    client_id = await new_client(session)
    return client_id, await ensure_pseudonym(session, client_id)


# --- Flood limit ---------------------------------------------------------------------------


async def test_messages_up_to_the_limit_pass_then_one_warns_and_the_rest_are_silent(
    session: AsyncSession,
) -> None:
    client_id = await new_client(session)
    verdicts = [await count(session, client_id, i, limit=3) for i in range(6)]
    assert verdicts == [ALLOWED] * 3 + [WARN] + [SILENT] * 2


async def test_default_limit_is_twenty_a_minute(session: AsyncSession) -> None:
    client_id = await new_client(session)
    verdicts = [await count(session, client_id, i * 2) for i in range(22)]
    assert verdicts == [ALLOWED] * 20 + [WARN, SILENT]


async def test_window_resets_once_it_has_passed_and_warns_again_once(
    session: AsyncSession,
) -> None:
    client_id = await new_client(session)
    first = [await count(session, client_id, 0, limit=2) for _ in range(4)]
    assert first == [ALLOWED, ALLOWED, WARN, SILENT]
    # Still in the window that began at the first message (T0): no reset, no second warning.
    assert await count(session, client_id, 59.9, limit=2) == SILENT
    second = [await count(session, client_id, 60, limit=2) for _ in range(4)]
    assert second == [ALLOWED, ALLOWED, WARN, SILENT]
    row = (
        await session.execute(
            select(Client.flood_window_start, Client.flood_count).where(Client.id == client_id)
        )
    ).one()
    assert row.flood_count == 4
    start = row.flood_window_start
    assert (start if start.tzinfo else start.replace(tzinfo=UTC)) == T0 + timedelta(seconds=60)


async def test_a_quiet_client_is_never_limited(session: AsyncSession) -> None:
    client_id = await new_client(session)
    verdicts = [await count(session, client_id, minute * 60, limit=1) for minute in range(5)]
    assert verdicts == [ALLOWED] * 5


async def test_clients_are_counted_separately(session: AsyncSession) -> None:
    noisy, quiet = await new_client(session), await new_client(session)
    for _ in range(3):
        await count(session, noisy, limit=2)
    assert await count(session, quiet, limit=2) == ALLOWED


async def test_naive_and_non_utc_times_count_as_the_same_instant(session: AsyncSession) -> None:
    client_id = await new_client(session)
    kyiv = T0.astimezone(timezone(timedelta(hours=2)))  # 14:00 in Kyiv, the same instant
    await abuse.count_message(session, client_id, now=T0.replace(tzinfo=None), limit=1)
    assert await abuse.count_message(session, client_id, now=kyiv, limit=1) == WARN


async def test_unknown_client_or_bad_limits_are_refused(session: AsyncSession) -> None:
    with pytest.raises(LookupError):
        await abuse.count_message(session, 999_999)
    client_id = await new_client(session)
    with pytest.raises(ValueError):
        await abuse.count_message(session, client_id, limit=0)
    with pytest.raises(ValueError):
        await abuse.count_message(session, client_id, window_seconds=0)


async def test_concurrent_messages_from_two_processes_are_each_counted_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as setup:
        client_id = await new_client(setup)
        await setup.commit()
    messages = 30
    start = asyncio.Barrier(messages)

    async def message() -> FloodVerdict:
        async with session_factory() as own:  # one bot process each
            await start.wait()
            verdict = await abuse.count_message(own, client_id, limit=20)
            await own.commit()
            return verdict

    verdicts = await settled(message() for _ in range(messages))

    assert verdicts.count(ALLOWED) == 20
    assert verdicts.count(WARN) == 1  # the client is answered once, not ten times
    assert verdicts.count(SILENT) == 9
    async with session_factory() as check:
        stored = await check.scalar(select(Client.flood_count).where(Client.id == client_id))
    assert stored == messages


# --- Blocks --------------------------------------------------------------------------------


async def test_block_unblock_and_is_blocked(session: AsyncSession) -> None:
    client_id, pseudonym = await named_client(session)
    peer, supervisor = await new_staff(session), await new_staff(session, role="supervisor")
    assert not await abuse.is_blocked(session, client_id)

    await abuse.block(session, client_id=client_id, staff_id=peer, reason="threats", keys=KEYS)
    assert await abuse.is_blocked(session, client_id)

    assert await abuse.unblock(session, pseudonym=pseudonym, staff_id=supervisor)
    assert not await abuse.is_blocked(session, client_id)
    lifted = await session.scalar(select(Block.lifted_at).where(Block.client_id == client_id))
    assert lifted is not None
    # Lifting again, or an unknown pseudonym: nothing to lift.
    assert not await abuse.unblock(session, pseudonym=pseudonym, staff_id=supervisor)
    assert not await abuse.unblock(session, pseudonym="000000x", staff_id=supervisor)


async def test_block_and_unblock_are_audited_without_the_reason(session: AsyncSession) -> None:
    client_id, pseudonym = await named_client(session)
    peer, admin = await new_staff(session), await new_staff(session, role="admin")
    await abuse.block(
        session,
        client_id=client_id,
        staff_id=peer,
        reason="insults and threats",
        keys=KEYS,
        conversation_id=77,
    )
    await abuse.unblock(session, pseudonym=pseudonym, staff_id=admin)
    await abuse.unblock(session, pseudonym=pseudonym, staff_id=admin)  # nothing: not audited
    block_id = await session.scalar(select(Block.id))
    assert await audit_rows(session) == [
        (peer, "block", 77, f"client={client_id} block={block_id}"),
        (admin, "unblock", None, f"client={client_id}"),
    ]


async def test_block_reason_is_encrypted_at_rest(session: AsyncSession) -> None:
    client_id = await new_client(session)
    peer = await new_staff(session)
    reason = "Угрожал консультанту: «найду тебя»"
    await abuse.block(session, client_id=client_id, staff_id=peer, reason=reason, keys=KEYS)
    stored = await session.scalar(select(Block.reason))
    assert reason.encode() not in stored and "найду".encode() not in stored
    assert abuse.decrypt_reason(KEYS, stored) == reason
    with pytest.raises(InvalidTag):  # bound to its purpose: not readable as anything else
        KEYS.decrypt(stored, purpose=b"message")
    [view] = await abuse.list_blocks(session)
    assert view.reason == stored  # the list carries only the ciphertext


async def test_list_blocks_shows_standing_blocks_once_each_oldest_first(
    session: AsyncSession,
) -> None:
    peer, supervisor = await new_staff(session), await new_staff(session, role="supervisor")
    (first, first_name), (second, second_name), (lifted, lifted_name) = [
        await named_client(session) for _ in range(3)
    ]
    for client_id in (first, second, lifted, first):  # `first` blocked twice (two consultants)
        await abuse.block(session, client_id=client_id, staff_id=peer, reason="spam", keys=KEYS)
    await abuse.unblock(session, pseudonym=lifted_name, staff_id=supervisor)

    views = await abuse.list_blocks(session)
    assert [(v.client_id, v.pseudonym, v.staff_id) for v in views] == [
        (first, first_name, peer),
        (second, second_name, peer),
    ]
    assert all(v.created_at.tzinfo is not None for v in views)
    # One unblock lifts both of `first`'s blocks.
    assert await abuse.unblock(session, pseudonym=first_name, staff_id=supervisor)
    assert not await abuse.is_blocked(session, first)


async def test_only_supervisors_and_admins_unblock(session: AsyncSession) -> None:
    client_id, pseudonym = await named_client(session)
    peer = await new_staff(session)
    removed = await new_staff(session, role="supervisor", active=False)
    await abuse.block(session, client_id=client_id, staff_id=peer, reason="spam", keys=KEYS)
    for staff_id in (peer, removed, 999_999):
        with pytest.raises(PermissionError):
            await abuse.unblock(session, pseudonym=pseudonym, staff_id=staff_id)
    assert await abuse.is_blocked(session, client_id)
    assert await abuse.unblock(session, pseudonym=pseudonym, staff_id=None)  # the CLI


async def test_block_needs_active_staff_a_known_client_and_a_reason(
    session: AsyncSession,
) -> None:
    client_id = await new_client(session)
    peer = await new_staff(session)
    removed = await new_staff(session, active=False)
    with pytest.raises(PermissionError):
        await abuse.block(session, client_id=client_id, staff_id=removed, reason="x", keys=KEYS)
    with pytest.raises(LookupError):
        await abuse.block(session, client_id=999_999, staff_id=peer, reason="x", keys=KEYS)
    with pytest.raises(ValueError):
        await abuse.block(session, client_id=client_id, staff_id=peer, reason="  ", keys=KEYS)
    assert not await abuse.is_blocked(session, client_id)
    assert await audit_rows(session) == []
