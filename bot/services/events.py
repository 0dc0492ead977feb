"""Anonymous events, written in the same transaction as the change that causes them.

No action site calls this module: `install` hooks every ORM session, so a flow added later
is counted too. Two hooks:

- `after_flush`: a new `Conversation` row (an "opened" event, "urgent" if it is, and the
  person counted as reached, bot/services/reach.py).
- `do_orm_execute`: the services change rows with conditional UPDATE statements
  (bot/services/queue.py), which the unit of work never sees. For an UPDATE that assigns a
  column reports care about (or a DELETE of clients), the rows it will touch are read first,
  the statement runs, the same rows are read again, and the difference becomes events:
  taken (with the wait to the first answer), closed (outcome), urgent, referral, follow-up
  answer, rating, subscribed / unsubscribed, post published, post delivered.

Reading first and then updating is exact: on PostgreSQL the services pick rows by id or
after locking them; on SQLite the transaction holds the database's one write lock once it
has written, and a snapshot read before another connection's commit cannot write at all.

An event keeps the day, country, language, topic and the report's numbers, never a client,
conversation or text (bot/models_events.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Column, Table, and_, event, insert, select, true
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.dml import Update

from bot.models import Client, Conversation
from bot.models_events import AnonEvent
from bot.services import reach, tally

Row = Mapping[str, Any]
Event = dict[str, Any]

# What each table's diff reads, and which assigned columns make an UPDATE worth reading.
_CONVERSATION = (
    "id", "kind", "status", "topic", "language", "country", "urgent", "staff_id", "created_at",
    "taken_at", "closed_at", "outcome", "outcome_detail", "rating", "follow_up_answer",
)  # fmt: skip
_WATCHED: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "conversations": (
        _CONVERSATION,
        frozenset({"status", "taken_at", "urgent", "rating", "follow_up_answer", "outcome_detail"}),
    ),
    "clients": (("id", "subscribed_at", "country", "language"), frozenset({"subscribed_at"})),
    "posts": (("id", "status"), frozenset({"status"})),
    "outbox": (("id", "status", "post_id"), frozenset({"status"})),
}
# Follow-up answers that are the client's, not the bot's own "asked" marker.
_ASKED = "asked"


def today() -> date:
    """The day an event without a timestamp of its own is counted on (tests replace it)."""
    return datetime.now(UTC).date()


clock: list[Callable[[], date]] = [today]


def _day(moment: datetime | None) -> date:
    if moment is None:
        return clock[0]()
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    # SQLite gives the UTC wall time without an offset.
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    return max(0, round((end - start).total_seconds()))


def _where(row: Row, **values: Any) -> Event:
    base = {
        "country": row.get("country") or "",
        "language": row.get("language") or "",
        "topic": row.get("topic") or "",
    }
    return {**base, **values}


def conversation_events(before: Row, after: Row) -> list[Event]:
    """The events one conversation's change means (`before` is {} for a new one)."""
    found: list[Event] = []
    if not before:
        day = _day(after["created_at"])
        found.append(_where(after, kind="opened", day=day, detail=after["kind"]))
        if after["urgent"]:
            found.append(_where(after, kind="urgent", day=day))
        return found
    if after["urgent"] and not before["urgent"]:
        found.append(_where(after, kind="urgent", day=clock[0]()))
    if after["taken_at"] is not None and before["taken_at"] is None:
        wait = _seconds(after["created_at"], after["taken_at"])
        found.append(
            _where(
                after,
                kind="taken",
                day=_day(after["taken_at"]),
                number=wait,
                staff_id=after["staff_id"],
            )
        )
    if after["status"] == "closed" and before["status"] != "closed":
        found.append(
            _where(
                after,
                kind="closed",
                day=_day(after["closed_at"]),
                outcome=after["outcome"] or "",
                detail=after["outcome_detail"] or "",
                staff_id=after["staff_id"],
            )
        )
    detail = after["outcome_detail"]
    if detail and detail != before["outcome_detail"]:
        found.append(_where(after, kind="referral", day=clock[0](), detail=detail))
    answer = after["follow_up_answer"]
    if answer and answer != _ASKED and answer != before["follow_up_answer"]:
        found.append(
            _where(
                after,
                kind="follow_up",
                day=clock[0](),
                outcome=answer,
                detail=after["outcome_detail"] or "",
            )
        )
    if after["rating"] is not None and before["rating"] is None:
        found.append(_where(after, kind="rating", day=clock[0](), number=after["rating"]))
    return found


def client_events(before: Row, after: Row | None) -> list[Event]:
    """Subscriptions: joined, left, or gone with the client row (/forget)."""
    was = before.get("subscribed_at") is not None
    now = after is not None and after.get("subscribed_at") is not None
    if now and not was:
        return [_where(before, kind="subscribed", day=clock[0]())]
    if was and not now:
        return [_where(before, kind="unsubscribed", day=clock[0]())]
    return []


def _assigned(statement: Update) -> set[str]:
    """The names of the columns an UPDATE sets. SQLAlchemy keeps them in `_values` (no
    public accessor); keys are columns or their names."""
    values = getattr(statement, "_values", None) or {}
    names = set()
    for key in values:
        name = getattr(key, "key", key)
        if isinstance(name, str):
            names.add(name)
    return names


def _read(session: Session, table: Table, names: Iterable[str], where: Any) -> dict[int, Row]:
    columns: list[Column[Any]] = [table.c[name] for name in names]
    rows = session.execute(select(*columns).where(where)).mappings().all()
    return {int(row["id"]): dict(row) for row in rows}


def _write(session: Session, events: list[Event]) -> None:
    if events:
        # Every row names every column: an executemany needs the same keys in each.
        empty = {"country": "", "language": "", "topic": "", "outcome": "", "detail": ""}
        blank = {**empty, "number": None, "staff_id": None}
        rows = [{**blank, "id": secrets.randbits(62) + 1, **item} for item in events]
        session.connection().execute(insert(AnonEvent), rows)


def _on_execute(state: ORMExecuteState) -> Any:
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return None
    table = state.bind_mapper.local_table
    if not isinstance(table, Table) or table.name not in _WATCHED:
        return None
    if isinstance(state.parameters, list):
        return None  # bulk UPDATE by primary key: not a form the services use
    statement = state.statement
    names, watched = _WATCHED[table.name]
    if state.is_update:
        assert isinstance(statement, Update)
        if not _assigned(statement) & watched:
            return None
    elif table.name != "clients":
        return None
    where = getattr(statement, "whereclause", None)
    where = where if where is not None else true()
    if table.name == "outbox":
        where = and_(where, table.c.post_id.is_not(None))  # relays: no event, no second read
    before = _read(state.session, table, names, where)
    if not before:
        return None
    result = state.invoke_statement()
    if getattr(result, "rowcount", None) == 0:
        # Another process changed the rows first (two takes of one conversation on
        # PostgreSQL): theirs is the event; reading "after" here would count it twice.
        return result
    after = {} if state.is_delete else _read(state.session, table, names, table.c.id.in_(before))
    _record(state.session, table.name, before, after)
    return result


def _record(session: Session, name: str, before: dict[int, Row], after: dict[int, Row]) -> None:
    events: list[Event] = []
    for ident, old in before.items():
        new = after.get(ident)
        if name == "clients":
            events += client_events(old, new)
        elif new is None:
            continue
        elif name == "conversations":
            events += conversation_events(old, new)
        elif name == "posts" and _became(old, new, "published"):
            events.append({"kind": "post_published", "day": clock[0]()})
        elif name == "outbox" and new["post_id"] is not None and _became(old, new, "sent"):
            # A post delivered to a subscriber or a channel: its reach, a plain counter.
            tally.bump(session.connection(), tally.POST_REACH, clock[0]())
    _write(session, events)


def _became(old: Row, new: Row, status: str) -> bool:
    return bool(new["status"] == status and old["status"] != status)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    events: list[Event] = []
    for item in session.new:
        if isinstance(item, Conversation):
            row = {name: getattr(item, name) for name in _CONVERSATION}
            events += conversation_events({}, row)
            key = session.connection().scalar(select(Client.key).where(Client.id == item.client_id))
            if key is not None:
                day = _day(item.created_at)
                reach.mark(session.connection(), key, item.country, item.language, day)
    _write(session, events)


_installed: list[bool] = []


def install() -> None:
    """Hook every ORM session of this process (idempotent)."""
    if _installed:
        return
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "after_flush", _after_flush)
    _installed.append(True)
