"""Shared fixtures: a migrated database (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import os
import shutil
import weakref
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapper
from sqlalchemy.util import HasMemoized, LRUCache

from bot import models_cases, models_events  # noqa: F401  (their tables join Base.metadata)
from bot.db import make_engine, make_session_factory, upgrade_to_head
from bot.models import Base
from bot.services import directory

POSTGRES_URL = os.environ.get("PEERLINE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason="set PEERLINE_TEST_POSTGRES_URL to run PostgreSQL tests")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs PEERLINE_TEST_POSTGRES_URL")
    # pytest-xdist's own marker (registered here too for a run with `-p no:xdist`).
    config.addinivalue_line("markers", "xdist_group(name): run on one xdist worker, in turn")


@pytest.fixture(scope="session")
def _postgres_migrated() -> Iterator[str]:
    """A database of this test run's own on the PostgreSQL server, dropped at the end, so
    two runs on one server (a developer's and CI's) never empty each other's tables. Each
    pytest-xdist worker is a session of its own, so each worker gets its own database too."""
    assert POSTGRES_URL
    import asyncio
    import secrets

    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # gw0, gw1... under xdist
    name = f"peerline_test_{worker}_{secrets.token_hex(4)}"
    # NullPool: setup and teardown run in different event loops, so no pooled connection
    # may outlive either.
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    async def run(statement: str) -> None:
        async with admin.connect() as conn:
            await conn.execute(text(statement))

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    upgrade_to_head(url)
    _POSTGRES_RESETS.update(asyncio.run(_postgres_resets(url)))
    yield url
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin.dispose())


# How a test's PostgreSQL tables are put back (see `_postgres_resets`): "empty" or "seeded".
_POSTGRES_RESETS: dict[str, str] = {}
SEEDED_SCHEMA = "peerline_seeded"


async def _postgres_resets(url: str) -> dict[str, str]:
    """SQL that puts this run's PostgreSQL database back, for each test, in the state a fresh
    SQLite copy starts from: all tables empty and every id sequence at 1 ("empty"), or that
    plus the referral directory start-up seeds ("seeded", for a whole bot: see `db_url`).

    DELETE, not TRUNCATE: a test leaves a few rows in a few tables, and TRUNCATE of 33 tables
    took 0.2-0.4 s a test while DELETE takes ~0.02 s; the seeded rows are copied back from a
    schema of their own instead of importing the seed file again (another 0.1-0.3 s)."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool)
    tables = [t.name for t in Base.metadata.sorted_tables]  # parents before children
    async with make_session_factory(engine)() as session, session.begin():
        await directory.seed_if_empty(session)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {SEEDED_SCHEMA}"))
        seeded = []
        for table in tables:
            if await conn.scalar(text(f"SELECT EXISTS (SELECT FROM {table})")):
                seeded.append(table)
                await conn.execute(text(f"CREATE TABLE {SEEDED_SCHEMA}.{table} AS TABLE {table}"))
        sequences = {
            name: last
            for name, last in await conn.execute(
                text(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
                )
            )
        }
    await engine.dispose()
    delete = [f"DELETE FROM {table};" for table in reversed(tables)]
    restart = [f"SELECT setval('public.{name}', 1, false);" for name in sequences]
    copy = [f"INSERT INTO {table} SELECT * FROM {SEEDED_SCHEMA}.{table};" for table in seeded]
    # A seeded table's sequence goes on from its seeded rows, as SQLite's ids do.
    at_seed = [
        f"SELECT setval('public.{name}', {last}, true);" if last is not None else restart[i]
        for i, (name, last) in enumerate(sequences.items())
    ]
    return {
        "empty": "\n".join(delete + restart),
        "seeded": "\n".join(delete + copy + at_seed),
    }


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to the latest revision per test run; each test gets a copy
    (copying a file is ~100x faster than running every migration again)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _sqlite_seeded_template(_sqlite_template: Path) -> Path:
    """The template with the referral directory the bot seeds at start-up already in it: a
    whole bot (the `harness`) would otherwise import the seed file again in every test."""
    path = _sqlite_template.with_name("seeded.db")
    shutil.copyfile(_sqlite_template, path)

    async def seed() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        async with make_session_factory(engine)() as session, session.begin():
            await directory.seed_if_empty(session)
        await engine.dispose()

    asyncio.run(seed())
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the latest revision: a fresh SQLite file, or this run's PostgreSQL one.
    A test of the whole bot starts from the seeded copy (the same state start-up leaves)."""
    if request.param == "postgres":
        return request.getfixturevalue("_postgres_migrated")
    path = tmp_path / "test.db"
    template = (
        "_sqlite_seeded_template" if "harness" in request.fixturenames else "_sqlite_template"
    )
    shutil.copyfile(request.getfixturevalue(template), path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def engine(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    if db_url.startswith("postgresql"):
        # Tests share one PostgreSQL database: start each from empty tables, or seeded ones
        # for a whole bot (as `db_url` does on SQLite). One round trip, one transaction.
        state = "seeded" if "harness" in request.fixturenames else "empty"
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute(_POSTGRES_RESETS[state])  # type: ignore[union-attr]
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


# --- The bot, offline --------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _content_once() -> Iterator[None]:
    """Menu texts, translations, cities and ready-made posts are read-only data: parsed once
    per test run instead of once per test (`Runtime.create` would reload them each time)."""
    import bot.runtime as runtime_module

    content = runtime_module.Content()
    cities = runtime_module.load_cities()
    translations: dict[str, object] = {}
    ready = runtime_module.load_ready_posts(
        runtime_module.CONTENT_DIR / "posts", node_ids=content.nodes.keys()
    )

    def i18n(default_language: str):  # type: ignore[no-untyped-def]
        if default_language not in translations:
            translations[default_language] = original_i18n(default_language)
        return translations[default_language]

    original_i18n = runtime_module.I18n
    patch = pytest.MonkeyPatch()
    patch.setattr(runtime_module, "Content", lambda: content)
    patch.setattr(runtime_module, "load_cities", lambda: cities)
    patch.setattr(runtime_module, "I18n", i18n)
    patch.setattr(runtime_module, "load_ready_posts", lambda *_a, **_k: list(ready))
    yield
    patch.undo()


TEST_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture
def settings(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from bot.config import Settings

    return Settings(
        _env_file=None,
        bot_token=TEST_TOKEN,
        secret_key=TEST_SECRET,
        data_dir=tmp_path / "data",
        database_url=db_url,
        default_language="ru",
    )


@pytest.fixture
async def harness(settings, engine: AsyncEngine):  # type: ignore[no-untyped-def]
    """The whole bot with a fake Telegram; `engine` empties PostgreSQL tables first."""
    from bot.app import _post_init, build_application
    from tests.harness import BotHarness, FakeTelegram

    telegram = FakeTelegram()
    app = build_application(settings, request=telegram)
    await app.initialize()
    await _post_init(app)
    # The real worker, but driven by the test (BotHarness.deliver) and with no real waiting.
    await app.bot_data.delivery.stop()
    app.bot_data.delivery = offline_worker(app)
    # Periodic work is run explicitly by tests (bot.maintenance.run_once).
    from bot import maintenance

    await maintenance.stop(app.bot_data.maintenance)
    app.bot_data.maintenance = None
    # Published in the background by _post_init; done before the test (after the periodic
    # jobs are stopped, so their first round does not run meanwhile).
    await app.bot_data.commands
    app.bot_data.runtime.outbox_ready = lambda: None
    yield BotHarness(app, telegram)
    await app.shutdown()
    await app.bot_data.runtime.engine.dispose()


def offline_worker(app):  # type: ignore[no-untyped-def]
    """A DeliveryWorker whose pacing advances a fake clock instead of sleeping."""
    from bot.app import make_delivery_worker

    clock = [0.0]

    async def sleep(seconds: float) -> None:
        clock[0] += max(seconds, 0.0)

    return make_delivery_worker(app, clock=lambda: clock[0], sleep=sleep)


# --- One statement cache for the run ------------------------------------------------------


class _CacheAcrossEngines(LRUCache):  # type: ignore[type-arg]
    """SQLAlchemy's compiled-statement cache, shared by every engine of one kind.

    SQLAlchemy keys compiled SQL by the dialect *object*, so each test's new engine compiled
    every statement again (~40 per test, a fifth of a test's CPU). A long-running bot has one
    engine and a warm cache; here dialects of the same class and settings count as one, so a
    test reuses the SQL earlier tests compiled. SQLite and PostgreSQL stay apart (the class
    and the server version are part of the key)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self._same: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._first: dict[tuple[Any, ...], Any] = {}

    def _key(self, key: Any) -> Any:
        if not (isinstance(key, tuple) and key and isinstance(key[0], Dialect)):
            return key
        dialect = key[0]
        same = self._same.get(dialect)
        if same is None:
            # Everything plain a dialect was configured with (its version included).
            plain = (type(None), bool, int, float, str, tuple)
            settings = sorted((k, v) for k, v in vars(dialect).items() if isinstance(v, plain))
            same = self._first.setdefault((type(dialect), repr(settings)), dialect)
            self._same[dialect] = same
        return (same, *key[1:])

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(self._key(key), default)

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self._key(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(self._key(key), value)


@pytest.fixture(scope="session", autouse=True)
def _one_statement_cache() -> Iterator[None]:
    """Every engine (queries) and every mapper (the ORM's flush statements) uses a cache
    that outlives one test's engine (see `_CacheAcrossEngines`)."""
    shared = _CacheAcrossEngines(5000)

    def on_connect(connection: Connection) -> None:
        connection.engine._compiled_cache = shared

    def _compiled_cache(mapper: Mapper[Any]) -> _CacheAcrossEngines:
        return _CacheAcrossEngines(mapper._compiled_cache_size)

    event.listen(Engine, "engine_connect", on_connect)
    patch = pytest.MonkeyPatch()
    patch.setattr(Mapper, "_compiled_cache", HasMemoized.memoized_attribute(_compiled_cache))
    yield
    patch.undo()
    event.remove(Engine, "engine_connect", on_connect)
