"""Retention purge: old message texts leave the database and its files; report counters stay."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.crypto import Keys
from bot.db import make_engine, make_session_factory
from bot.models import Client, Conversation, Message, Outbox
from bot.services import outbox, outbox_results, privacy
from bot.services.relay import MESSAGE_PURPOSE
from tests.conftest import TEST_SECRET
from tests.harness import BotHarness, FakeUser
from tests.test_consultation import CONSULTANT, add_consultant, ask_about_ost

RETENTION = 30
OLD_CANARY = "canary-7f3a1c: they took my syringes at the station"
NEW_CANARY = "canary-19c2e8: where is the nearest OST site?"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


async def consult_and_close(harness: BotHarness, client: FakeUser, text: str) -> None:
    """A client asks, the consultant takes, both write, it closes and the client rates it."""
    await ask_about_ost(harness, client)
    notice = harness.screen(CONSULTANT)
    await harness.send(client, text)
    await harness.press(CONSULTANT, "Take it", notice)
    await harness.send(CONSULTANT, "Thank you for writing. Here is what you can do.")
    ask_outcome = await harness.send(CONSULTANT, "/close")
    await harness.press(CONSULTANT, "information given", ask_outcome)
    await harness.press(client, "5", harness.screen(client))


async def backdate_everything(session_factory, shift: timedelta) -> None:  # type: ignore[no-untyped-def]
    """Move every conversation, message and outbox row `shift` into the past."""
    async with session_factory() as session, session.begin():
        for row in await session.scalars(select(Conversation)):
            row.created_at -= shift
            row.taken_at = row.taken_at and row.taken_at - shift
            row.closed_at = row.closed_at and row.closed_at - shift
        for row in await session.scalars(select(Message)):
            row.created_at -= shift
        for row in await session.scalars(select(Outbox)):
            row.created_at -= shift
            row.not_before -= shift
            row.sent_at = row.sent_at and row.sent_at - shift


def database_bytes(db_url: str) -> bytes:
    """The database file and its -wal and -shm files, as a seized disk would show them."""
    path = Path(make_url(db_url).database)
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


async def test_old_conversation_text_is_gone_from_the_database_and_its_files(
    harness: BotHarness, settings, session_factory, db_url: str
) -> None:
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    old_client = FakeUser(id=5550007001, language_code="en")
    await consult_and_close(harness, old_client, OLD_CANARY)
    await backdate_everything(session_factory, timedelta(days=RETENTION + 1))
    async with session_factory() as session:
        old_conversation = await session.scalar(select(Conversation.id))
        old_bodies = [b for b in await session.scalars(select(Message.body)) if b]
        old_payloads = list(await session.scalars(select(Outbox.payload)))
        old_outbox = await session.scalar(select(func.count()).select_from(Outbox))
        unfinished = await session.scalar(
            select(func.count()).where(Outbox.status == outbox.PENDING)
        )
    assert len(old_bodies) == 2 and old_outbox and unfinished == 0

    recent_client = FakeUser(id=5550007002, language_code="en")
    await consult_and_close(harness, recent_client, NEW_CANARY)

    sqlite = db_url.startswith("sqlite")
    if sqlite:  # the scan below can fail: before the purge the ciphertexts are on disk
        before = database_bytes(db_url)
        assert [i for i, body in enumerate(old_bodies) if body not in before] == []
        assert [i for i, payload in enumerate(old_payloads) if payload not in before] == []

    settings.retention_days = RETENTION  # the bot's own settings object
    report = await privacy.run_retention(harness.app.bot_data.runtime)
    assert (report.conversations, report.messages, report.outbox) == (1, 2, old_outbox)
    assert report.compacted is True

    keys = harness.app.bot_data.runtime.keys
    async with session_factory() as session:
        # (a) the old conversation's messages are gone, (d) the recent one keeps its own
        messages = (await session.execute(select(Message.conversation_id, Message.body))).all()
        assert messages and all(conv != old_conversation for conv, _ in messages)
        texts = {keys.decrypt(body, purpose=MESSAGE_PURPOSE).decode() for _, body in messages}
        assert NEW_CANARY in texts
        # (b) no outbox row of the old conversation's time is left
        remaining = list(await session.scalars(select(Outbox.payload)))
        assert remaining and not set(remaining) & set(old_payloads)
        # (e) what reports count survives
        old = await session.get(Conversation, old_conversation)
        assert (old.status, old.topic, old.language, old.country, old.urgent) == (
            "closed",
            "ost",
            "en",
            "UA",
            False,
        )
        assert (old.outcome, old.rating) == ("information", 5)
        assert old.created_at and old.taken_at and old.closed_at
        kept = set(await session.scalars(select(Client.key)))
        assert {keys.client_key(old_client.id), keys.client_key(recent_client.id)} <= kept

    if sqlite:  # (c) the ciphertexts are not left in free pages or in the WAL
        wal = Path(make_url(db_url).database + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        after = database_bytes(db_url)
        assert [i for i, body in enumerate(old_bodies) if body in after] == []
        assert [i for i, payload in enumerate(old_payloads) if payload in after] == []
        recent_bodies = [body for _, body in messages if body]
        assert all(body in after for body in recent_bodies)  # the scan does see live rows


_client_numbers = itertools.count(1)


async def add_conversation(session, *, closed_at: datetime | None, text: str) -> int:  # type: ignore[no-untyped-def]
    """A client with one conversation (closed at `closed_at`, else waiting) and one message."""
    keys = Keys(TEST_SECRET)
    client = Client(key=f"client-{next(_client_numbers)}", chat_ref=keys.encrypt_chat_id(1))
    session.add(client)
    await session.flush()
    long_ago = (closed_at or NOW) - timedelta(days=1)
    conversation = Conversation(
        client_id=client.id,
        status="waiting" if closed_at is None else "closed",
        topic="hiv",
        language="ru",
        country="KZ",
        created_at=long_ago,
        closed_at=closed_at,
        outcome=None if closed_at is None else "referred",
    )
    session.add(conversation)
    await session.flush()
    session.add(
        Message(
            conversation_id=conversation.id,
            author="client",
            kind="text",
            body=keys.encrypt(text.encode(), purpose=MESSAGE_PURPOSE),
            created_at=long_ago,
        )
    )
    await session.flush()
    return conversation.id


async def sent_row(session, *, hours_ago: float, status: str = "sent") -> int:  # type: ignore[no-untyped-def]
    keys = Keys(TEST_SECRET)
    moment = NOW - timedelta(hours=hours_ago)
    row_id = await outbox.enqueue(
        session,
        keys,
        chat_ref=keys.encrypt_chat_id(1),
        recipient="staff:1",
        method="sendMessage",
        params={"text": "notice"},
        not_before=moment,
    )
    if status == "sent":
        await outbox_results.mark_sent(session, row_id, 77, now=moment)
    elif status == "dead":
        await outbox_results.mark_dead(session, row_id, "gave up")
    return row_id


async def test_purge_keeps_open_and_recent_conversations_and_unsent_rows(session) -> None:
    async with session.begin():
        day = timedelta(days=1)
        expired = await add_conversation(session, closed_at=NOW - 31 * day, text="expired")
        recent = await add_conversation(session, closed_at=NOW - 29 * day, text="recent")
        waiting = await add_conversation(session, closed_at=None, text="still waiting")
        old_sent = await sent_row(session, hours_ago=31 * 24)
        new_sent = await sent_row(session, hours_ago=29 * 24)
        old_pending = await sent_row(session, hours_ago=31 * 24, status="pending")
        report = await privacy.purge_expired(session, retention_days=30, now=NOW)
    assert (report.conversations, report.messages, report.outbox) == (1, 1, 1)
    assert report.compacted is None
    left = set(await session.scalars(select(Message.conversation_id)))
    assert left == {recent, waiting}
    assert expired not in left
    rows = set(await session.scalars(select(Outbox.id)))
    assert rows == {new_sent, old_pending}
    assert old_sent not in rows


async def test_one_day_retention_keeps_sent_rows_for_forgets_48_hours(session) -> None:
    async with session.begin():
        for_forget = await sent_row(session, hours_ago=30)
        dead = await sent_row(session, hours_ago=30, status="dead")
        too_old = await sent_row(session, hours_ago=50)
        report = await privacy.purge_expired(session, retention_days=1, now=NOW)
    assert report.outbox == 1
    assert set(await session.scalars(select(Outbox.id))) == {for_forget, dead}
    assert too_old


async def test_compact_runs_outside_a_transaction_on_either_backend(engine) -> None:
    assert await privacy.compact(engine) is True
    assert await privacy.compact(engine, full=True) is True
    async with engine.begin() as conn:
        await conn.exec_driver_sql("SELECT 1")


def test_retention_days_must_be_positive() -> None:
    with pytest.raises(ValueError):
        asyncio.run(privacy.purge_expired(None, retention_days=0))  # type: ignore[arg-type]


# --- peerline purge -----------------------------------------------------------------------


@pytest.fixture
def env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    monkeypatch.setenv("PEERLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERLINE_SECRET_KEY", TEST_SECRET)
    monkeypatch.delenv("PEERLINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PEERLINE_RETENTION_DAYS", raising=False)
    return tmp_path


def test_cli_purge_prints_the_counts_and_compacts(env, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["migrate"]) == 0
    url = f"sqlite+aiosqlite:///{env / 'data' / 'peerline.db'}"
    ages = (400, 100, 10)  # days since closing: two past the default 90 days, one not

    async def seed() -> None:
        engine = make_engine(url)
        async with make_session_factory(engine)() as session, session.begin():
            for days in ages:
                closed_at = datetime.now(UTC) - timedelta(days=days)
                await add_conversation(session, closed_at=closed_at, text=f"text {days}")
        await engine.dispose()

    asyncio.run(seed())
    assert main(["purge"]) == 0
    out = capsys.readouterr().out
    assert "retention 90 days: deleted 2 messages of 2 closed conversations" in out
    assert "compacted: deleted rows are gone" in out
    assert main(["purge", "--days", "5"]) == 0
    assert "deleted 1 message of 1 closed conversation and 0 outbox rows" in capsys.readouterr().out
    assert main(["purge", "--days", "0"]) == 2
    assert "--days" in capsys.readouterr().err
