"""The consultation queue: order, matching, atomic claims, hand-overs, closing, rating, audit.

Every test runs on SQLite and, with PEERLINE_TEST_POSTGRES_URL set, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import AuditEntry, Client, Conversation, Staff
from bot.services import case_history, estimates, pseudonyms, queue
from bot.services.case_history import history
from bot.services.estimates import queue_position, wait_estimate_minutes
from bot.services.feedback import rate
from bot.services.queue import (
    AlreadyOpen,
    AtCapacity,
    ConversationView,
    NotAllowed,
    active_for_staff,
    close,
    open_for_client,
    release,
    take,
    transfer,
    waiting_for,
)
from bot.services.requests import ensure_pseudonym, open_conversation

T = TypeVar("T")
_numbers = itertools.count(1)


async def new_client(session: AsyncSession) -> int:
    row = Client(key=f"client-{next(_numbers)}", chat_ref=b"encrypted-chat")
    session.add(row)
    await session.flush()
    return row.id


async def new_staff(
    session: AsyncSession,
    *,
    role: str = "peer",
    languages: str = "ru",
    topics: str = "ost,hiv",
    max_active: int = 3,
    on_duty: bool = True,
    active: bool = True,
) -> int:
    number = next(_numbers)
    row = Staff(
        key=f"staff-{number}",
        chat_ref=b"encrypted-chat",
        display_name=f"Consultant {number}",
        role=role,
        languages=languages,
        topics=topics,
        max_active=max_active,
        on_duty=on_duty,
        active=active,
    )
    session.add(row)
    await session.flush()
    return row.id


async def ask(
    session: AsyncSession,
    client_id: int | None = None,
    *,
    topic: str = "ost",
    language: str = "ru",
    urgent: bool = False,
    minutes_ago: float | None = None,
) -> ConversationView:
    """A client opens a request; `minutes_ago` backdates it to fix the queue order."""
    if client_id is None:
        client_id = await new_client(session)
    view = await open_conversation(
        session, client_id=client_id, topic=topic, language=language, country="UA", urgent=urgent
    )
    if minutes_ago is not None:
        await backdate(session, view.id, ago(minutes_ago))
    return view


def ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


async def backdate(session: AsyncSession, conversation_id: int, created: datetime) -> None:
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(created_at=created)
    )


async def current_of(session: AsyncSession, staff_id: int) -> int | None:
    return await session.scalar(select(Staff.current_conversation_id).where(Staff.id == staff_id))


async def audit_rows(session: AsyncSession) -> list[tuple[int | None, str, int | None, str | None]]:
    rows = await session.execute(
        select(
            AuditEntry.staff_id, AuditEntry.action, AuditEntry.conversation_id, AuditEntry.detail
        ).order_by(AuditEntry.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def ids(views: list[ConversationView]) -> list[int]:
    return [view.id for view in views]


async def settled(calls: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Run concurrently and wait for every one, even after a failure: a task left running
    would keep its transaction (and its locks) open past the end of the test."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    errors = [result for result in results if isinstance(result, BaseException)]
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


# --- Clients: pseudonyms and opening --------------------------------------------------------


async def test_pseudonym_is_a_word_code_assigned_once_and_differs_between_clients(
    session: AsyncSession,
) -> None:
    first, second = await new_client(session), await new_client(session)

    name = await ensure_pseudonym(session, first)

    assert pseudonyms.CODE.fullmatch(name) and len(name) <= 16
    assert await ensure_pseudonym(session, first) == name
    assert await ensure_pseudonym(session, second) != name
    assert await session.scalar(select(Client.pseudonym).where(Client.id == first)) == name


async def test_pseudonym_collision_draws_again(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter(["a01n02-42", "a01n02-42", "a03n04-77"])
    monkeypatch.setattr(pseudonyms, "draw", lambda _attempt: next(draws))
    first, second = await new_client(session), await new_client(session)

    assert await ensure_pseudonym(session, first) == "a01n02-42"
    assert await ensure_pseudonym(session, second) == "a03n04-77"


async def test_open_conversation_waits_in_the_queue_under_the_clients_pseudonym(
    session: AsyncSession,
) -> None:
    client_id = await new_client(session)

    view = await ask(session, client_id, topic="hiv", language="uk", urgent=True)

    assert view.status == "waiting"
    assert (view.client_id, view.topic, view.language, view.country) == (
        client_id,
        "hiv",
        "uk",
        "UA",
    )
    assert view.urgent and view.kind == "consult"
    assert view.staff_id is None and view.taken_at is None and view.previous_id is None
    assert view.pseudonym == await ensure_pseudonym(session, client_id)
    assert view.created_at.tzinfo is not None


async def test_a_client_has_at_most_one_open_conversation(session: AsyncSession) -> None:
    client_id = await new_client(session)
    first = await ask(session, client_id)

    with pytest.raises(AlreadyOpen) as raised:
        await ask(session, client_id, topic="legal")
    assert raised.value.conversation == first

    staff_id = await new_staff(session)
    await take(session, staff_id, first.id)
    with pytest.raises(AlreadyOpen):  # active counts as open too
        await ask(session, client_id)

    await close(session, first.id, staff_id=staff_id, outcome="information")
    again = await ask(session, client_id)
    assert again.id != first.id


async def test_new_conversation_links_to_the_clients_most_recent_closed_one(
    session: AsyncSession,
) -> None:
    client_id, other_client = await new_client(session), await new_client(session)
    first = await ask(session, client_id)
    await close(session, first.id, outcome=None)
    second = await ask(session, client_id)
    await close(session, second.id, outcome=None)
    await close(session, (await ask(session, other_client)).id, outcome=None)

    third = await ask(session, client_id)

    assert first.previous_id is None
    assert second.previous_id == first.id
    assert third.previous_id == second.id


async def test_open_for_client_finds_the_waiting_or_active_conversation_only(
    session: AsyncSession,
) -> None:
    client_id = await new_client(session)
    assert await open_for_client(session, client_id) is None

    view = await ask(session, client_id)
    assert await open_for_client(session, client_id) == view

    await take(session, await new_staff(session), view.id)
    found = await open_for_client(session, client_id)
    assert found is not None and found.status == "active"

    await close(session, view.id, outcome=None)
    assert await open_for_client(session, client_id) is None


async def test_unknown_topic_kind_or_client_is_refused(session: AsyncSession) -> None:
    client_id = await new_client(session)
    with pytest.raises(ValueError):
        await ask(session, client_id, topic="weather")
    with pytest.raises(ValueError):
        await open_conversation(
            session, client_id=client_id, topic="ost", language="ru", country="UA", kind="chat"
        )
    with pytest.raises(LookupError):
        await ask(session, client_id + 1000)


# --- Order and matching ---------------------------------------------------------------------


async def test_waiting_for_lists_urgent_first_then_oldest(session: AsyncSession) -> None:
    staff_id = await new_staff(session)
    old = await ask(session, minutes_ago=30)
    new = await ask(session, minutes_ago=5)
    urgent_new = await ask(session, urgent=True, minutes_ago=1)
    urgent_old = await ask(session, urgent=True, minutes_ago=10)
    oldest = await ask(session, minutes_ago=60)

    listed = await waiting_for(session, staff_id)

    assert ids(listed) == [urgent_old.id, urgent_new.id, oldest.id, old.id, new.id]
    assert ids(await waiting_for(session, staff_id, limit=2)) == [urgent_old.id, urgent_new.id]


async def test_staff_see_only_their_languages_and_topics_supervisors_see_all(
    session: AsyncSession,
) -> None:
    peer = await new_staff(session, languages="ru, uk", topics="ost,hiv")
    lawyer = await new_staff(session, role="lawyer", languages="kk", topics="legal")
    supervisor = await new_staff(session, role="supervisor", languages="en", topics="")
    ru_ost = await ask(session, topic="ost", language="ru", minutes_ago=4)
    uk_hiv = await ask(session, topic="hiv", language="uk", minutes_ago=3)
    ru_legal = await ask(session, topic="legal", language="ru", minutes_ago=2)
    kk_legal = await ask(session, topic="legal", language="kk", minutes_ago=1)

    assert ids(await waiting_for(session, peer)) == [ru_ost.id, uk_hiv.id]
    assert ids(await waiting_for(session, lawyer)) == [kk_legal.id]
    assert ids(await waiting_for(session, supervisor)) == [
        ru_ost.id,
        uk_hiv.id,
        ru_legal.id,
        kk_legal.id,
    ]


async def test_removed_staff_see_and_take_nothing(session: AsyncSession) -> None:
    gone = await new_staff(session, active=False)
    view = await ask(session)

    with pytest.raises(NotAllowed):
        await waiting_for(session, gone)
    with pytest.raises(NotAllowed):
        await take(session, gone, view.id)


# --- Taking ---------------------------------------------------------------------------------


async def test_take_next_claims_the_first_matching_in_queue_order(session: AsyncSession) -> None:
    staff_id = await new_staff(session, topics="ost")
    await ask(session, topic="legal", urgent=True, minutes_ago=50)  # not this member's topic
    older = await ask(session, minutes_ago=20)
    urgent = await ask(session, urgent=True, minutes_ago=1)

    first = await take(session, staff_id)
    second = await take(session, staff_id)

    assert first is not None and second is not None
    assert (first.id, second.id) == (urgent.id, older.id)
    assert first.status == "active" and first.staff_id == staff_id
    assert first.taken_at is not None and first.taken_at.tzinfo is not None
    assert await take(session, staff_id) is None  # only the other topic is left


async def test_take_makes_it_current_and_is_audited(session: AsyncSession) -> None:
    staff_id = await new_staff(session)
    view = await ask(session)

    taken = await take(session, staff_id, view.id)

    assert taken is not None
    assert await current_of(session, staff_id) == view.id
    assert await audit_rows(session) == [(staff_id, "take", view.id, None)]


async def test_take_by_id_only_if_still_waiting_and_allowed(session: AsyncSession) -> None:
    ru_peer = await new_staff(session, languages="ru")
    kk_peer = await new_staff(session, languages="kk")
    view = await ask(session, language="ru")

    assert await take(session, kk_peer, view.id) is None  # not their language
    taken = await take(session, ru_peer, view.id)
    assert taken is not None and taken.staff_id == ru_peer
    assert await take(session, ru_peer, view.id) is None  # not waiting any more
    assert await take(session, ru_peer, view.id + 1000) is None  # no such conversation


async def test_take_by_id_ignores_queue_order(session: AsyncSession) -> None:
    staff_id = await new_staff(session)
    await ask(session, urgent=True, minutes_ago=10)
    chosen = await ask(session, minutes_ago=1)

    taken = await take(session, staff_id, chosen.id)

    assert taken is not None and taken.id == chosen.id


async def test_take_at_capacity_is_refused(session: AsyncSession) -> None:
    staff_id = await new_staff(session, max_active=2)
    first, second, third = await ask(session), await ask(session), await ask(session)
    await take(session, staff_id, first.id)
    await take(session, staff_id, second.id)

    with pytest.raises(AtCapacity):
        await take(session, staff_id, third.id)
    with pytest.raises(AtCapacity):
        await take(session, staff_id)

    await close(session, first.id, staff_id=staff_id, outcome="referred")
    assert await take(session, staff_id, third.id) is not None


# --- Release, transfer, close ---------------------------------------------------------------


async def test_release_returns_it_to_its_old_place_in_the_queue(session: AsyncSession) -> None:
    staff_id = await new_staff(session)
    view = await ask(session, minutes_ago=30)
    await take(session, staff_id, view.id)
    newer = await ask(session, minutes_ago=5)

    released = await release(session, staff_id, view.id)

    assert released.status == "waiting" and released.staff_id is None
    assert released.taken_at is not None  # the first answer time is kept for reports
    assert await current_of(session, staff_id) is None
    assert await queue_position(session, view.id) == 1
    assert await queue_position(session, newer.id) == 2
    assert (await audit_rows(session))[-1] == (staff_id, "release", view.id, None)


async def test_only_the_holder_or_a_supervisor_may_release_or_close(
    session: AsyncSession,
) -> None:
    holder = await new_staff(session)
    other = await new_staff(session)
    supervisor = await new_staff(session, role="supervisor")
    view = await ask(session)
    await take(session, holder, view.id)

    with pytest.raises(NotAllowed):
        await release(session, other, view.id)
    with pytest.raises(NotAllowed):
        await close(session, view.id, staff_id=other, outcome="information")

    released = await release(session, supervisor, view.id)
    assert released.status == "waiting"
    assert await current_of(session, holder) is None  # the holder's next message goes nowhere
    with pytest.raises(NotAllowed):  # waiting: nobody holds it
        await release(session, holder, view.id)


async def test_transfer_to_a_person_keeps_it_active_with_them(session: AsyncSession) -> None:
    peer = await new_staff(session)
    lawyer = await new_staff(session, role="lawyer", topics="legal")
    busy = await new_staff(session)
    view = await ask(session)
    other = await ask(session)
    await take(session, peer, view.id)
    await take(session, busy, other.id)

    moved = await transfer(session, peer, view.id, to_staff_id=lawyer)

    assert moved.status == "active" and moved.staff_id == lawyer
    assert await current_of(session, peer) is None
    assert await current_of(session, lawyer) == view.id  # they had none
    assert (await audit_rows(session))[-1] == (peer, "transfer", view.id, f"staff:{lawyer}")

    # Someone in the middle of a conversation keeps their current one.
    await transfer(session, lawyer, view.id, to_staff_id=busy)
    assert await current_of(session, busy) == other.id
    assert await current_of(session, lawyer) is None


async def test_transfer_to_a_full_unknown_or_same_person_is_refused(
    session: AsyncSession,
) -> None:
    peer = await new_staff(session)
    full = await new_staff(session, max_active=1)
    view, theirs = await ask(session), await ask(session)
    await take(session, peer, view.id)
    await take(session, full, theirs.id)

    with pytest.raises(AtCapacity):
        await transfer(session, peer, view.id, to_staff_id=full)
    with pytest.raises(NotAllowed):
        await transfer(session, peer, view.id, to_staff_id=full + 1000)
    with pytest.raises(NotAllowed):
        await transfer(session, peer, view.id, to_staff_id=peer)
    assert (await open_for_client(session, view.client_id)).staff_id == peer  # type: ignore[union-attr]


async def test_transfer_to_a_role_puts_it_back_in_the_queue(session: AsyncSession) -> None:
    peer = await new_staff(session)
    view = await ask(session, topic="ost")
    await take(session, peer, view.id)

    moved = await transfer(session, peer, view.id, to_role="lawyer")

    assert moved.status == "waiting" and moved.staff_id is None
    assert moved.topic == "ost"
    assert await current_of(session, peer) is None
    assert (await audit_rows(session))[-1] == (peer, "transfer", view.id, "role:lawyer")


async def test_transfer_needs_exactly_one_known_target(session: AsyncSession) -> None:
    peer, other = await new_staff(session), await new_staff(session)
    view = await ask(session)
    await take(session, peer, view.id)

    with pytest.raises(ValueError):
        await transfer(session, peer, view.id)
    with pytest.raises(ValueError):
        await transfer(session, peer, view.id, to_staff_id=other, to_role="lawyer")
    with pytest.raises(ValueError):
        await transfer(session, peer, view.id, to_role="wizard")
    with pytest.raises(NotAllowed):  # not theirs
        await transfer(session, other, view.id, to_role="lawyer")


async def test_staff_close_records_outcome_and_time_and_clears_current(
    session: AsyncSession,
) -> None:
    staff_id = await new_staff(session)
    view = await ask(session)
    await take(session, staff_id, view.id)

    closed = await close(session, view.id, staff_id=staff_id, outcome="legal_aid")

    assert closed.status == "closed" and closed.outcome == "legal_aid"
    assert closed.closed_at is not None and closed.staff_id == staff_id
    assert await current_of(session, staff_id) is None
    assert await active_for_staff(session, staff_id) == []
    assert (await audit_rows(session))[-1] == (staff_id, "close", view.id, "legal_aid")


async def test_staff_close_needs_a_known_outcome(session: AsyncSession) -> None:
    staff_id = await new_staff(session)
    view = await ask(session)
    await take(session, staff_id, view.id)

    with pytest.raises(ValueError):
        await close(session, view.id, staff_id=staff_id, outcome=None)
    with pytest.raises(ValueError):
        await close(session, view.id, staff_id=staff_id, outcome="cured")
    assert (await open_for_client(session, view.client_id)) is not None


async def test_client_ends_a_waiting_or_active_conversation_without_outcome(
    session: AsyncSession,
) -> None:
    staff_id = await new_staff(session)
    waiting = await ask(session)
    active = await ask(session)
    await take(session, staff_id, active.id)

    cancelled = await close(session, waiting.id, outcome=None)
    ended = await close(session, active.id, outcome=None)

    assert cancelled.status == ended.status == "closed"
    assert cancelled.outcome is None and ended.outcome is None
    assert await current_of(session, staff_id) is None
    assert (await audit_rows(session))[-1] == (None, "close", active.id, None)
    with pytest.raises(NotAllowed):  # closed already
        await close(session, ended.id, outcome=None)


async def test_active_for_staff_lists_their_active_conversations_in_take_order(
    session: AsyncSession,
) -> None:
    staff_id, other = await new_staff(session), await new_staff(session)
    first, second, theirs, done = [await ask(session) for _ in range(4)]
    for view in (second, first, done):
        await take(session, staff_id, view.id)
    await take(session, other, theirs.id)
    await close(session, done.id, staff_id=staff_id, outcome="other")

    assert ids(await active_for_staff(session, staff_id)) == [second.id, first.id]


# --- History and rating ---------------------------------------------------------------------


async def test_history_lists_the_clients_earlier_closed_conversations_newest_first(
    session: AsyncSession,
) -> None:
    staff_id = await new_staff(session)
    client_id, stranger = await new_client(session), await new_client(session)
    first = await ask(session, client_id)
    await close(session, first.id, outcome=None)
    second = await ask(session, client_id, topic="hiv")
    await take(session, staff_id, second.id)
    await close(session, second.id, staff_id=staff_id, outcome="referred")
    await close(session, (await ask(session, stranger)).id, outcome=None)
    current = await ask(session, client_id)
    await take(session, staff_id, current.id)

    earlier = await history(session, current.id, staff_id)

    assert ids(earlier) == [second.id, first.id]
    assert earlier[0].outcome == "referred"
    assert (await audit_rows(session))[-1] == (staff_id, "history", current.id, None)


async def test_history_is_only_for_whoever_holds_the_conversation(session: AsyncSession) -> None:
    holder, other = await new_staff(session), await new_staff(session)
    supervisor = await new_staff(session, role="admin")
    view = await ask(session)
    await take(session, holder, view.id)

    with pytest.raises(NotAllowed):
        await history(session, view.id, other)
    assert await history(session, view.id, supervisor) == []
    actions = [row[1] for row in await audit_rows(session)]
    assert actions.count("history") == 1  # the refused look is not a look


async def test_client_rates_their_own_closed_conversation_once(session: AsyncSession) -> None:
    staff_id = await new_staff(session)
    view = await ask(session)
    stranger = await new_client(session)
    await take(session, staff_id, view.id)

    assert await rate(session, view.id, view.client_id, 5) is False  # still open
    await close(session, view.id, staff_id=staff_id, outcome="information")
    assert await rate(session, view.id, view.client_id, 0) is False
    assert await rate(session, view.id, view.client_id, 6) is False
    assert await rate(session, view.id, stranger, 1) is False
    assert await rate(session, view.id, view.client_id, 4) is True
    assert await rate(session, view.id, view.client_id, 1) is False  # only once

    rating = await session.scalar(select(Conversation.rating).where(Conversation.id == view.id))
    assert rating == 4


async def test_audit_writes_a_row_without_content(session: AsyncSession) -> None:
    staff_id = await new_staff(session)

    await queue.audit(session, staff_id, "report", detail="x" * 300)
    await queue.audit(session, None, "purge", conversation_id=7)

    rows = await audit_rows(session)
    assert rows == [(staff_id, "report", None, "x" * 200), (None, "purge", 7, None)]


# --- Position and wait estimate -------------------------------------------------------------


async def test_queue_position_follows_take_order_among_all_waiting(session: AsyncSession) -> None:
    staff_id = await new_staff(session, languages="ru,kk", topics="ost,legal")
    old = await ask(session, minutes_ago=30)
    other_language = await ask(session, language="kk", topic="legal", minutes_ago=20)
    urgent = await ask(session, urgent=True, minutes_ago=1)

    assert await queue_position(session, urgent.id) == 1
    assert await queue_position(session, old.id) == 2
    assert await queue_position(session, other_language.id) == 3

    await take(session, staff_id)  # the urgent one
    assert await queue_position(session, urgent.id) is None
    assert await queue_position(session, old.id) == 1
    assert await queue_position(session, other_language.id) == 2
    assert await queue_position(session, 99999) is None


async def add_taken(
    session: AsyncSession, *, waited_minutes: float, taken_minutes_ago: float
) -> None:
    """A past conversation that waited `waited_minutes` before someone took it."""
    taken = ago(taken_minutes_ago)
    session.add(
        Conversation(
            client_id=await new_client(session),
            status="closed",
            topic="ost",
            language="ru",
            country="UA",
            created_at=taken - timedelta(minutes=waited_minutes),
            taken_at=taken,
            closed_at=taken,
        )
    )
    await session.flush()


async def test_wait_estimate_is_none_without_history_or_when_not_waiting(
    session: AsyncSession,
) -> None:
    await new_staff(session)
    view = await ask(session)
    assert await wait_estimate_minutes(session, view.id) is None

    await add_taken(session, waited_minutes=5, taken_minutes_ago=60)
    assert await wait_estimate_minutes(session, view.id) is not None
    await close(session, view.id, outcome=None)
    assert await wait_estimate_minutes(session, view.id) is None


async def test_wait_estimate_is_median_wait_times_position_over_staff_on_duty(
    session: AsyncSession,
) -> None:
    for waited in (4, 6, 50):  # median 6, not the mean 20
        await add_taken(session, waited_minutes=waited, taken_minutes_ago=120)
    await new_staff(session, on_duty=True)
    await new_staff(session, on_duty=True)
    await new_staff(session, on_duty=False)  # not counted
    await new_staff(session, on_duty=True, active=False)  # removed: not counted
    first = await ask(session, minutes_ago=3)
    second = await ask(session, minutes_ago=2)
    third = await ask(session, minutes_ago=1)

    assert await wait_estimate_minutes(session, first.id) == 3  # 6 * 1 / 2
    assert await wait_estimate_minutes(session, second.id) == 6  # 6 * 2 / 2
    assert await wait_estimate_minutes(session, third.id) == 9  # 6 * 3 / 2


async def test_wait_estimate_without_anyone_on_duty_counts_one(session: AsyncSession) -> None:
    await add_taken(session, waited_minutes=10, taken_minutes_ago=60)
    await new_staff(session, on_duty=False)
    view = await ask(session)

    assert await wait_estimate_minutes(session, view.id) == 10


async def test_wait_estimate_only_looks_at_the_last_50_takes(session: AsyncSession) -> None:
    for _ in range(estimates.WAIT_HISTORY + 1):  # long ago, long waits: outside the window
        await add_taken(session, waited_minutes=120, taken_minutes_ago=5000)
    for _ in range(estimates.WAIT_HISTORY):
        await add_taken(session, waited_minutes=2, taken_minutes_ago=60)
    await new_staff(session, on_duty=True)
    view = await ask(session)

    assert await wait_estimate_minutes(session, view.id) == 2


# --- Concurrency ----------------------------------------------------------------------------


async def test_twenty_concurrent_takes_of_one_conversation_exactly_one_succeeds(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as setup:
        staff_ids = [await new_staff(setup) for _ in range(20)]
        conversation_id = (await ask(setup)).id
        await setup.commit()
    start = asyncio.Barrier(len(staff_ids))

    async def taker(staff_id: int) -> ConversationView | None:
        async with session_factory() as own:
            await start.wait()  # all twenty press "take" at the same moment
            result = await take(own, staff_id, conversation_id)
            await own.commit()
            return result

    results = await settled(taker(staff_id) for staff_id in staff_ids)

    winners = [result for result in results if result is not None]
    assert len(winners) == 1
    winner = winners[0].staff_id
    async with session_factory() as check:
        stored = await check.scalar(
            select(Conversation.staff_id).where(
                Conversation.id == conversation_id, Conversation.status == "active"
            )
        )
        assert stored == winner
        assert await audit_rows(check) == [(winner, "take", conversation_id, None)]
        currents = await check.scalars(
            select(Staff.id).where(Staff.current_conversation_id == conversation_id)
        )
        assert list(currents) == [winner]


async def test_concurrent_take_next_hands_each_conversation_to_exactly_one_member(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as setup:
        staff_ids = [await new_staff(setup) for _ in range(20)]
        conversation_ids = [(await ask(setup, minutes_ago=10 - i)).id for i in range(5)]
        await setup.commit()
    start = asyncio.Barrier(len(staff_ids))

    async def taker(staff_id: int) -> ConversationView | None:
        async with session_factory() as own:
            await start.wait()
            result = await take(own, staff_id)
            await own.commit()
            return result

    results = await settled(taker(staff_id) for staff_id in staff_ids)

    taken = sorted(result.id for result in results if result is not None)
    assert taken == conversation_ids  # every one taken, none twice
    async with session_factory() as check:
        rows = await check.execute(select(Conversation.id, Conversation.staff_id))
        by_conversation = dict(rows.all())
    assert {r.id: r.staff_id for r in results if r is not None} == by_conversation


async def test_concurrent_requests_from_one_client_open_one_conversation(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as setup:
        client_id = await new_client(setup)
        await setup.commit()
    start = asyncio.Barrier(10)

    async def request() -> str:
        async with session_factory() as own:
            await start.wait()  # a double (or tenfold) tap on "ask a human"
            try:
                await ask(own, client_id)
            except AlreadyOpen:
                return "refused"
            await own.commit()
            return "opened"

    results = await settled(request() for _ in range(10))

    assert sorted(results) == ["opened"] + ["refused"] * 9
    async with session_factory() as check:
        count = len((await check.scalars(select(Conversation.id))).all())
    assert count == 1


async def test_concurrent_takes_by_one_member_respect_max_active(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as setup:
        staff_id = await new_staff(setup, max_active=2)
        conversation_ids = [(await ask(setup)).id for _ in range(6)]
        await setup.commit()
    start = asyncio.Barrier(len(conversation_ids))

    async def press(conversation_id: int) -> bool:
        async with session_factory() as own:
            await start.wait()  # taps on six "take" buttons at once
            try:
                result = await take(own, staff_id, conversation_id)
            except AtCapacity:
                return False
            await own.commit()
            return result is not None

    results = await settled(press(cid) for cid in conversation_ids)

    assert results.count(True) == 2
    async with session_factory() as check:
        assert len(await active_for_staff(check, staff_id)) == 2


# --- Hand-over to a role, notes, outcome detail ---------------------------------------------


async def wanted_role_of(session: AsyncSession, conversation_id: int) -> str | None:
    return await session.scalar(
        select(Conversation.wanted_role).where(Conversation.id == conversation_id)
    )


async def test_transfer_to_a_role_is_only_for_that_role_whatever_the_topic(
    session: AsyncSession,
) -> None:
    peer = await new_staff(session, topics="ost")
    other_peer = await new_staff(session, topics="ost")
    lawyer = await new_staff(session, role="lawyer", topics="legal")  # not "ost"
    psychologist = await new_staff(session, role="psychologist", topics="ost,psychologist")
    view = await ask(session, topic="ost")
    await take(session, peer, view.id)

    moved = await transfer(session, peer, view.id, to_role="lawyer")

    assert moved.status == "waiting" and moved.wanted_role == "lawyer"
    assert await waiting_for(session, other_peer) == []
    assert await waiting_for(session, psychologist) == []
    assert ids(await waiting_for(session, lawyer)) == [view.id]
    assert await take(session, other_peer, view.id) is None
    assert await take(session, psychologist) is None  # "take next" skips it too
    taken = await take(session, lawyer)
    assert taken is not None and taken.id == view.id and taken.staff_id == lawyer
    assert taken.wanted_role is None  # taking clears it
    assert await wanted_role_of(session, view.id) is None


async def test_a_conversation_released_after_a_role_take_is_for_its_topic_again(
    session: AsyncSession,
) -> None:
    peer = await new_staff(session, topics="ost")
    lawyer = await new_staff(session, role="lawyer", topics="legal")
    view = await ask(session, topic="ost")
    await take(session, peer, view.id)
    await transfer(session, peer, view.id, to_role="lawyer")
    await take(session, lawyer, view.id)

    await release(session, lawyer, view.id)

    assert ids(await waiting_for(session, peer)) == [view.id]
    assert await waiting_for(session, lawyer) == []


async def test_transfer_to_a_role_still_needs_the_language_and_supervisors_take_any(
    session: AsyncSession,
) -> None:
    peer = await new_staff(session, languages="ru")
    kk_lawyer = await new_staff(session, role="lawyer", languages="kk", topics="legal")
    supervisor = await new_staff(session, role="supervisor", languages="en", topics="")
    view = await ask(session, language="ru")
    await take(session, peer, view.id)
    await transfer(session, peer, view.id, to_role="lawyer")

    assert await waiting_for(session, kk_lawyer) == []
    assert await take(session, kk_lawyer, view.id) is None
    assert ids(await waiting_for(session, supervisor)) == [view.id]
    taken = await take(session, supervisor, view.id)
    assert taken is not None and taken.staff_id == supervisor


async def test_take_next_by_a_role_member_picks_a_conversation_handed_to_their_role(
    session: AsyncSession,
) -> None:
    peer = await new_staff(session, topics="ost")
    lawyer = await new_staff(session, role="lawyer", topics="legal")
    legal = await ask(session, topic="legal", minutes_ago=5)
    handed = await ask(session, topic="ost", minutes_ago=30)
    await take(session, peer, handed.id)
    await transfer(session, peer, handed.id, to_role="lawyer")

    first, second = await take(session, lawyer), await take(session, lawyer)

    assert (first.id, second.id) == (handed.id, legal.id)  # type: ignore[union-attr]


async def test_transfer_to_a_person_leaves_no_wanted_role(session: AsyncSession) -> None:
    peer, lawyer = await new_staff(session), await new_staff(session, role="lawyer")
    view = await ask(session)
    await take(session, peer, view.id)

    moved = await transfer(session, peer, view.id, to_staff_id=lawyer)

    assert moved.wanted_role is None and moved.status == "active"


async def test_outcome_detail_is_set_only_by_the_holder_and_kept_by_close(
    session: AsyncSession,
) -> None:
    holder, other = await new_staff(session), await new_staff(session)
    view = await ask(session)
    await take(session, holder, view.id)

    assert not await queue.set_outcome_detail(session, other, view.id, "ost_site")
    assert await queue.set_outcome_detail(session, holder, view.id, "ost_site")
    with pytest.raises(ValueError):
        await queue.set_outcome_detail(session, holder, view.id, "x" * 25)
    await close(session, view.id, staff_id=holder, outcome="referred")
    assert not await queue.set_outcome_detail(session, holder, view.id, "ngo")  # closed

    row = (
        await session.execute(
            select(Conversation.outcome, Conversation.outcome_detail).where(
                Conversation.id == view.id
            )
        )
    ).one()
    assert tuple(row) == ("referred", "ost_site")


async def test_notes_are_the_conversations_staff_notes_oldest_first(
    session: AsyncSession,
) -> None:
    from bot.crypto import Keys
    from bot.services import relay

    keys = Keys("n" * 32)
    author = await new_staff(session)
    view, elsewhere = await ask(session), await ask(session)

    async def write(conversation_id: int, who: str, text: str, staff_id: int | None) -> None:
        incoming = relay.Incoming(
            update_id=next(_numbers), kind="text", text=text, source_message_id=1, chat_id=1
        )
        await relay.record(
            session,
            keys,
            conversation_id=conversation_id,
            author=who,
            incoming=incoming,
            staff_id=staff_id,
        )

    await write(view.id, "note", "needs a lawyer", author)
    await write(view.id, "client", "hello", None)
    await write(view.id, "note", "speaks slowly", author)
    await write(elsewhere.id, "note", "another client", author)

    found = await case_history.notes(session, keys, view.id)

    assert [note.text for note in found] == ["needs a lawyer", "speaks slowly"]
    name = await session.scalar(select(Staff.display_name).where(Staff.id == author))
    assert {(note.staff_id, note.author) for note in found} == {(author, name)}
    assert all(note.conversation_id == view.id for note in found)
    assert found[0].created_at.tzinfo is not None
    assert await case_history.notes(session, keys, view.id + 1000) == []
