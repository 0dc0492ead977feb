"""Async engine and session factory; SQLite gets the pragmas a small server needs."""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import aiosqlite
from sqlalchemy import CursorResult, Result, event
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState
from sqlalchemy.util.concurrency import await_

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# For UPDATE/DELETE statements that carry their own conditions: the ORM must not try to
# evaluate them in Python against the objects in the session.
NO_SYNC = {"synchronize_session": False}


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (`execute` is typed as a plain Result)."""
    return int(cast("CursorResult[Any]", result).rowcount)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers and the writer work at once; busy_timeout waits instead of failing
    # under a second process; secure_delete overwrites deleted rows (shared/SECURITY.md).
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        "busy_timeout=5000",
        "secure_delete=ON",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_before_savepoint(conn: Connection, _name: str | None) -> None:
    """pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so a SAVEPOINT that
    comes first opens one of its own and its RELEASE commits it: a message recorded in a
    savepoint (`relay.record`) was committed without the outbox rows written after it, and a
    crash in between lost the relay. BEGIN first, so the savepoint nests in the transaction
    and the whole unit commits together (tests/test_savepoints.py)."""
    driver = conn.connection.driver_connection
    if driver is not None and not driver.in_transaction:
        conn.exec_driver_sql("BEGIN")


def _run_statement(
    connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool
) -> tuple[Any, list[Any], int, int | None]:
    """In aiosqlite's thread: one statement from cursor to close, its rows fetched."""
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class _OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A statement in one trip to aiosqlite's thread instead of four (cursor, execute,
    fetchall, close, as SQLAlchemy's adapter does): every trip wakes that thread and hands
    the GIL over twice, which costs more CPU than a short statement itself (bench/README.md).
    Results are buffered as the adapter's own cursor buffers them; server-side cursors
    (`stream()`) keep SQLAlchemy's."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._run(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            return await_(self._run(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> Any:
        async with self._adapt_connection._execute_mutex:
            connection = cast(aiosqlite.Connection, self._connection)
            outcome = await connection._execute(
                _run_statement, connection, operation, parameters, many
            )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)
        return self

    async def _async_soft_close(self) -> None:
        return None  # closed in its one trip; the rows and description stay here

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = _OneTripCursor


class _OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite DBAPI adapter, whose connections make `_OneTripCursor`s."""

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return _OneTripConnection(self, adapted._connection)


def _rollback_if_open(
    dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry, state: PoolResetState
) -> None:
    """A connection going back to the pool is rolled back only if SQLite says a transaction
    is open: after a commit (nearly every return) the pool's own unconditional rollback was
    one more trip to aiosqlite's thread for nothing. SQLAlchemy's documented custom reset
    (`pool_reset_on_return=None` plus this event)."""
    if state.transaction_was_reset or not state.asyncio_safe:
        return
    driver = cast(AsyncAdapt_aiosqlite_connection, dbapi_connection)._connection
    if driver.in_transaction:
        dbapi_connection.rollback()


def make_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, module=_OneTripDBAPI(aiosqlite, sqlite3), pool_reset_on_return=None
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine.pool, "reset", _rollback_if_open)
        event.listen(engine.sync_engine, "savepoint", _begin_before_savepoint)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


# Set by bot/services/outbox.py on a session that queued Bot API calls; read after commit.
OUTBOX_ENQUEUED = "peerline_outbox_enqueued"


def make_session_factory(
    engine: AsyncEngine, *, on_outbox_commit: Callable[[], None] | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions for this engine. `on_outbox_commit` runs after every commit of a transaction
    that queued outbox rows (the delivery worker's wake-up), so no flow has to remember it."""
    if on_outbox_commit is None:
        return async_sessionmaker(engine, expire_on_commit=False)

    class OutboxAwareSession(Session):
        """A class of its own, so the events below belong to this runtime's sessions only."""

    def committed(session: Session) -> None:
        if session.info.pop(OUTBOX_ENQUEUED, False):
            on_outbox_commit()

    def rolled_back(session: Session) -> None:
        session.info.pop(OUTBOX_ENQUEUED, None)

    event.listen(OutboxAwareSession, "after_commit", committed)
    event.listen(OutboxAwareSession, "after_rollback", rolled_back)
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=OutboxAwareSession)


def upgrade_to_head(url: str) -> None:
    """Apply all Alembic revisions (synchronous: call it before the event loop starts)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, "head")
