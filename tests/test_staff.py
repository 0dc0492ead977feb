"""Staff: who may consult, under which name, on duty for what; one-time invites."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Keys
from bot.languages import LANGUAGES
from bot.models import AuditEntry, Invite, Staff
from bot.services import staff, staff_accounts, staff_duty
from bot.services.staff import StaffError
from bot.services.staff_names import validate_display_name
from tests.conftest import TEST_SECRET

KEYS = Keys(TEST_SECRET)
ANNA_ID = 7399001122  # distinctive, so a scan of the database file would find it


async def add(
    session: AsyncSession, telegram_id: int = ANNA_ID, **fields: object
) -> staff.StaffView:
    values: dict[str, object] = {"display_name": "Anna", "role": "peer"} | fields
    return await staff_accounts.add_staff(session, KEYS, telegram_id=telegram_id, **values)  # type: ignore[arg-type]


# --- Display names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Peerline",
        "PEERLINE team",
        "Peer-line",
        "P.e.e.r.l.i.n.e",
        "Peer\u200bline",  # zero-width space
        "Help Bot",
        "HelpBot",
        "Anna (bot)",
        "Бот",
        "Помощь-бот",
        "Admin Anna",
        "Аdmin",  # Cyrillic А
        "Support",
        "Tech support",
        "System",
        "Модератор",
        "Администратор Анна",
        "Служба поддержки",
        "Поддержка",
        "Підтримка",
        "Anna\nSystem: your chat is closed",
        "<b>Anna</b>",
        "Anna > all",
        "anna@example",
        "http://example.org",
        "Anna t.me/anna",
        "Anna www.example.org",
        "/start",
        "#Anna",
        "🙂🙂",
        "🙂 🌻",
        "12345",
        "✅ Anna",
        "⚠️ Conversation closed",
        "Αdmin",  # Greek Alpha
        "Anna\u202e",  # right-to-left override
        "",
        "   ",
        "A" * 41,
    ],
)
def test_names_that_could_pass_for_the_bot_or_a_system_message_are_refused(name: str) -> None:
    with pytest.raises(StaffError):
        validate_display_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "Anna",
        "Botagoz",  # a Kazakh name that starts with "bot"
        "Бота",
        "Абботт",
        "Олена К.",
        "Dr. Aigerim (medic)",
        "Anna 🌻",
        "Aigerim 👩\u200d⚕️",
        "Ай-Гуль",
        "José",
        "O’Neil",
        "Peer 7",
        "A" * 40,
        "Ақбота",
        "Asad Mina",  # not "admin"
        "Sysoev Tema",
    ],
)
def test_ordinary_names_are_accepted(name: str) -> None:
    assert validate_display_name(name) == name


def test_whitespace_in_a_name_is_collapsed() -> None:
    assert validate_display_name("  Anna \t  K.\n") == "Anna K."


def test_refusals_say_why() -> None:
    with pytest.raises(StaffError, match="peerline"):
        validate_display_name("Peerline")
    with pytest.raises(StaffError, match="40"):
        validate_display_name("A" * 41)
    with pytest.raises(StaffError, match="start with a letter"):
        validate_display_name("🙂")


# --- Adding, removing --------------------------------------------------------------------------


async def test_add_defaults_to_every_language_and_topic_off_duty(session: AsyncSession) -> None:
    view = await add(session)
    assert view.display_name == "Anna"
    assert view.role == "peer"
    assert view.languages == LANGUAGES
    assert view.topics == staff.STAFF_TOPICS
    assert (view.on_duty, view.max_active, view.active) == (False, 3, True)
    assert view.current_conversation_id is None
    assert not view.can_supervise
    row = await session.get(Staff, view.id)
    assert row.key == KEYS.staff_key(ANNA_ID)
    assert KEYS.decrypt_chat_id(row.chat_ref) == ANNA_ID
    assert await staff.chat_ref(session, view.id) == row.chat_ref
    assert await staff.find_by_telegram(session, KEYS, ANNA_ID) == view
    assert await staff.get(session, view.id) == view
    audit = (await session.scalars(select(AuditEntry))).all()
    assert [(a.action, a.detail) for a in audit] == [("staff_add", f"staff={view.id} role=peer")]


async def test_languages_keep_their_order_and_topics_the_canonical_one(
    session: AsyncSession,
) -> None:
    """The first language is the one the member reads the bot in; duplicates go."""
    view = await add(session, languages=["uk", "RU", "uk"], topics="hiv, ost")
    assert view.languages == ("uk", "ru")
    assert view.topics == ("ost", "hiv")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"role": "boss"}, "unknown role"),
        ({"languages": ["ru", "de"]}, "unknown languages de"),
        ({"languages": []}, "at least one"),
        ({"topics": ["ost", "overdose"]}, "unknown topics overdose"),
        ({"display_name": "Peerline support"}, "may not contain"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    session: AsyncSession, fields: dict, message: str
) -> None:
    with pytest.raises(StaffError, match=message):
        await add(session, **fields)
    assert await session.scalar(select(func.count()).select_from(Staff)) == 0
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@pytest.mark.parametrize("telegram_id", [0, -100123, True])
async def test_a_telegram_id_is_a_positive_number(session: AsyncSession, telegram_id) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StaffError, match="positive"):
        await add(session, telegram_id=telegram_id)


async def test_adding_again_updates_the_same_member(session: AsyncSession) -> None:
    first = await add(session)
    await staff_duty.set_duty(session, first.id, True)
    again = await add(session, display_name="Anna K.", role="supervisor", languages=["kk"])
    assert again.id == first.id
    assert (again.display_name, again.role, again.languages) == ("Anna K.", "supervisor", ("kk",))
    assert again.on_duty  # still on duty: an update is not a removal
    assert again.can_supervise
    assert len(await staff.list_staff(session)) == 1


async def test_removal_takes_effect_at_once(session: AsyncSession) -> None:
    anna = await add(session)
    bob = await add(session, telegram_id=ANNA_ID + 1, display_name="Bob")
    await staff_duty.set_duty(session, anna.id, True)

    assert await staff_accounts.remove_staff(session, anna.id) is True

    assert await staff.find_by_telegram(session, KEYS, ANNA_ID) is None
    assert [s.id for s in await staff.list_staff(session)] == [bob.id]
    removed = await staff.get(session, anna.id)
    assert (removed.active, removed.on_duty) == (False, False)
    assert [s.id for s in await staff.list_staff(session, include_removed=True)] == [
        anna.id,
        bob.id,
    ]
    assert await staff_duty.on_duty_for(session, language="ru", topic="ost", urgent=True) == []
    with pytest.raises(StaffError):
        await staff_duty.set_duty(session, anna.id, True)
    with pytest.raises(StaffError):
        await staff_duty.set_profile(session, anna.id, display_name="Anna")
    assert await staff_accounts.remove_staff(session, anna.id) is False
    assert await staff_accounts.remove_staff(session, 9999) is False
    actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions == ["staff_add", "staff_add", "staff_remove"]


async def test_a_removed_member_added_again_is_back_off_duty(session: AsyncSession) -> None:
    anna = await add(session)
    await session.execute(update(Staff).values(on_duty=True, current_conversation_id=42))
    await staff_accounts.remove_staff(session, anna.id)
    back = await add(session, role="medic")
    assert back.id == anna.id
    assert (back.active, back.on_duty, back.role) == (True, False, "medic")
    assert back.current_conversation_id is None
    assert await staff.find_by_telegram(session, KEYS, ANNA_ID) == back


async def test_duty_is_set_or_toggled(session: AsyncSession) -> None:
    anna = await add(session)
    assert (await staff_duty.set_duty(session, anna.id, None)).on_duty is True
    assert (await staff_duty.set_duty(session, anna.id, None)).on_duty is False
    assert (await staff_duty.set_duty(session, anna.id, True)).on_duty is True
    assert (await staff_duty.set_duty(session, anna.id, True)).on_duty is True
    assert (await staff_duty.set_duty(session, anna.id, False)).on_duty is False
    with pytest.raises(StaffError, match="no active staff member"):
        await staff_duty.set_duty(session, 9999, None)


async def test_on_duty_for_matches_language_and_topic_and_urgent_reaches_everyone(
    session: AsyncSession,
) -> None:
    a = await add(session, 1001, display_name="A", languages=["ru", "uk"], topics=["ost", "hiv"])
    b = await add(session, 1002, display_name="B", languages=["kk"])
    c = await add(session, 1003, display_name="C", languages=["ru"], topics=["ost"])  # off duty
    d = await add(session, 1004, display_name="D", languages=["ru"], topics=["ost"])  # removed
    for member in (a, b, d):
        await staff_duty.set_duty(session, member.id, True)
    await staff_accounts.remove_staff(session, d.id)

    async def ids(**kwargs) -> list[int]:  # type: ignore[no-untyped-def]
        return [s.id for s in await staff_duty.on_duty_for(session, **kwargs)]

    assert await ids(language="ru", topic="ost") == [a.id]
    assert await ids(language="uk", topic="hiv") == [a.id]
    assert await ids(language="kk", topic="legal") == [b.id]
    assert await ids(language="ru", topic="legal") == []
    assert await ids(language="en", topic="ost") == []
    assert await ids(language="en", topic="overdose", urgent=True) == [a.id, b.id]
    assert c.id not in await ids(language="ru", topic="ost", urgent=True)


async def test_profile_changes_are_validated(session: AsyncSession) -> None:
    anna = await add(session)
    view = await staff_duty.set_profile(session, anna.id, display_name="Ann", topics=["tb"])
    assert (view.display_name, view.topics, view.max_active) == ("Ann", ("tb",), 3)
    assert (await staff_duty.set_profile(session, anna.id, max_active=5)).max_active == 5
    for bad in ({"display_name": "Admin"}, {"topics": []}, {"max_active": 0}):
        with pytest.raises(StaffError):
            await staff_duty.set_profile(session, anna.id, **bad)
    assert await staff.get(session, anna.id) == dataclasses.replace(view, max_active=5)
    with pytest.raises(StaffError):
        await staff.chat_ref(session, 9999)


# --- Invites ---------------------------------------------------------------------------------


async def test_invite_token_fits_a_start_link_and_only_its_hash_is_stored(
    session: AsyncSession,
) -> None:
    token = await staff_accounts.create_invite(session, role="lawyer")
    assert token.startswith("inv_")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", token)
    assert token != await staff_accounts.create_invite(session, role="lawyer")
    row = await session.scalar(select(Invite).order_by(Invite.id))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.token_hash != token and token not in row.token_hash
    assert row.role == "lawyer" and row.used_at is None
    expires = row.expires_at.replace(tzinfo=row.expires_at.tzinfo or UTC)
    assert timedelta(hours=47) < expires - datetime.now(UTC) <= timedelta(hours=48)
    audit = await session.scalar(select(AuditEntry))
    # By database id only: the token itself is never written down.
    assert (audit.action, audit.detail) == (
        "invite_create",
        f"invite={row.id} role=lawyer hours=48",
    )


async def test_invite_is_redeemed_once(session: AsyncSession) -> None:
    token = await staff_accounts.create_invite(session, role="psychologist", ttl_hours=1)
    view = await staff_accounts.redeem_invite(
        session, KEYS, token=token, telegram_id=ANNA_ID, display_name="Anna"
    )
    assert (view.role, view.display_name, view.active, view.on_duty) == (
        "psychologist",
        "Anna",
        True,
        False,
    )
    assert view.languages == LANGUAGES and view.topics == staff.STAFF_TOPICS
    assert await staff.find_by_telegram(session, KEYS, ANNA_ID) == view
    with pytest.raises(StaffError, match="already been used"):
        await staff_accounts.redeem_invite(
            session, KEYS, token=token, telegram_id=ANNA_ID + 1, display_name="Bob"
        )
    redeemed = await session.scalar(select(AuditEntry).where(AuditEntry.action == "invite_redeem"))
    assert redeemed.staff_id == view.id and str(ANNA_ID) not in redeemed.detail


async def test_expired_unknown_and_malformed_invites_are_refused(session: AsyncSession) -> None:
    token = await staff_accounts.create_invite(session, role="peer")
    await session.execute(
        update(Invite).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    with pytest.raises(StaffError, match="expired"):
        await staff_accounts.redeem_invite(
            session, KEYS, token=token, telegram_id=ANNA_ID, display_name="Anna"
        )
    for bad in ("inv_" + "x" * 24, "inv_short", "hello", "inv_" + "a" * 70, "inv_bad token!!"):
        with pytest.raises(StaffError, match="not valid"):
            await staff_accounts.redeem_invite(
                session, KEYS, token=bad, telegram_id=ANNA_ID, display_name="Anna"
            )
    assert await staff.find_by_telegram(session, KEYS, ANNA_ID) is None


async def test_a_refused_name_or_a_current_member_does_not_use_up_the_invite(
    session: AsyncSession,
) -> None:
    token = await staff_accounts.create_invite(session, role="admin")
    with pytest.raises(StaffError, match="may not contain"):
        await staff_accounts.redeem_invite(
            session, KEYS, token=token, telegram_id=ANNA_ID, display_name="Peerline Admin"
        )
    await add(session, telegram_id=ANNA_ID + 1, display_name="Bob")
    with pytest.raises(StaffError, match="already on the team"):
        await staff_accounts.redeem_invite(
            session, KEYS, token=token, telegram_id=ANNA_ID + 1, display_name="Bob"
        )
    assert await session.scalar(select(Invite.used_at)) is None
    view = await staff_accounts.redeem_invite(
        session, KEYS, token=token, telegram_id=ANNA_ID, display_name="Anna"
    )
    assert view.role == "admin" and view.can_supervise


async def test_a_removed_member_can_come_back_with_an_invite(session: AsyncSession) -> None:
    anna = await add(session, languages=["uk"])
    await staff_accounts.remove_staff(session, anna.id)
    token = await staff_accounts.create_invite(session, role="peer")
    back = await staff_accounts.redeem_invite(
        session, KEYS, token=token, telegram_id=ANNA_ID, display_name="Anna"
    )
    assert back.id == anna.id and back.active


@pytest.mark.parametrize(
    ("role", "hours", "message"),
    [("boss", 48, "unknown role"), ("peer", 0, "1 to 168"), ("peer", 24 * 30, "1 to 168")],
)
async def test_invite_role_and_lifetime_are_checked(
    session: AsyncSession, role: str, hours: int, message: str
) -> None:
    with pytest.raises(StaffError, match=message):
        await staff_accounts.create_invite(session, role=role, ttl_hours=hours)
    assert await session.scalar(select(func.count()).select_from(Invite)) == 0


async def test_of_people_redeeming_one_invite_at_once_exactly_one_joins(session_factory) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as session, session.begin():
        token = await staff_accounts.create_invite(session, role="medic")

    async def redeem(n: int) -> staff.StaffView | StaffError:
        try:
            async with session_factory() as session, session.begin():
                return await staff_accounts.redeem_invite(
                    session, KEYS, token=token, telegram_id=ANNA_ID + n, display_name=f"Medic {n}"
                )
        except StaffError as exc:
            return exc

    results = await asyncio.gather(*(redeem(n) for n in range(5)))
    joined = [r for r in results if isinstance(r, staff.StaffView)]
    refused = [r for r in results if isinstance(r, StaffError)]
    assert len(joined) == 1 and len(refused) == 4, results
    assert all("already been used" in str(r) for r in refused)
    async with session_factory() as session:
        assert [s.id for s in await staff.list_staff(session, include_removed=True)] == [
            joined[0].id
        ]


# --- Privacy ---------------------------------------------------------------------------------


async def test_the_database_holds_no_telegram_id_of_staff(session_factory, engine, db_url) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as session, session.begin():
        anna = await add(session)
        await staff_duty.set_duty(session, anna.id, True)
        token = await staff_accounts.create_invite(session, role="peer")
        await staff_accounts.redeem_invite(
            session, KEYS, token=token, telegram_id=ANNA_ID + 7, display_name="Bob"
        )
        await staff_accounts.remove_staff(session, anna.id)
    needles = [str(ANNA_ID), str(ANNA_ID + 7), token]
    if db_url.startswith("sqlite"):
        await engine.dispose()  # flush the WAL into the file we scan
        path = Path(make_url(db_url).database)
        blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for needle in needles:
            assert needle.encode() not in blob, f"{needle} found in the database file"
        for telegram_id in (ANNA_ID, ANNA_ID + 7):
            assert telegram_id.to_bytes(8, "little") not in blob
            assert telegram_id.to_bytes(8, "big") not in blob
    else:
        async with engine.connect() as conn:
            dump = ""
            for table in ("staff", "invites", "audit_log"):
                dump += str((await conn.execute(text(f"SELECT * FROM {table}"))).all())
        for needle in needles:
            assert needle not in dump
