"""Shared by the benchmarks: a scratch database, the Postgres to use, timed rounds, a table rule.

Imported as ``_db`` (``python bench/<name>.py`` puts this directory first on
``sys.path``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from picloud.settings import Settings

W = TypeVar("W")


async def scratch_database(base: str, name: str) -> tuple[str, Callable[[], Awaitable[None]]]:
    """Create database ``name`` next to ``base`` (dropping a leftover); its DSN and a dropper."""
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()

    async def drop() -> None:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/" + name)), drop


@contextlib.asynccontextmanager
async def scratch(base: str, name: str) -> AsyncIterator[str]:
    """:func:`scratch_database` as a context: its DSN, dropped on the way out."""
    dsn, drop = await scratch_database(base, name)
    try:
        yield dsn
    finally:
        await drop()


@contextlib.contextmanager
def database_settings() -> Iterator[Settings]:
    """``Settings.from_env()`` with a database: ``DATABASE_URL``, else the embedded PostgreSQL."""
    settings = Settings.from_env()
    if settings.database_url is not None:
        yield settings
        return
    from picloud.embedded import EmbeddedServices

    services = EmbeddedServices(settings.data_dir, redis=False).start()
    try:
        settings = services.apply(settings)
        assert settings.database_url is not None
        yield settings
    finally:
        services.stop()


async def describe_server(conn: Any) -> str:
    """``PostgreSQL <version>, synchronous_commit=<…>, <n> CPUs``: the head of a table."""
    version = await conn.fetchval("SHOW server_version")
    sync = await conn.fetchval("SHOW synchronous_commit")
    return f"PostgreSQL {version}, synchronous_commit={sync}, {os.cpu_count()} CPUs"


def rule(header: str) -> str:
    """The Markdown ``|---|`` line under ``header``, each cell as wide as the header's."""
    return "|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|"


async def gated_rate(
    workers: int,
    seconds: float,
    step: Callable[[int, Any], Awaitable[int]],
    *,
    settle: float,
    hold: Callable[[], contextlib.AbstractAsyncContextManager[Any]] = contextlib.nullcontext,
) -> float:
    """Units per second of ``workers`` concurrent loops of ``step`` for ``seconds``.

    Each loop enters ``hold()`` (e.g. a pooled connection, passed to ``step``
    with the loop's index), then waits at a gate that opens ``settle`` seconds
    after the loops start, so they all begin together; ``step`` returns how many
    units it did.
    """
    stop = time.perf_counter() + seconds
    counts = [0] * workers
    gate = asyncio.Event()

    async def loop(w: int) -> None:
        async with hold() as held:
            await gate.wait()
            while time.perf_counter() < stop:
                counts[w] += await step(w, held)

    tasks = [asyncio.create_task(loop(w)) for w in range(workers)]
    await asyncio.sleep(settle)
    began = time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    return sum(counts) / (time.perf_counter() - began)


async def alternating_rounds(
    works: dict[str, W], rounds: int, measure: Callable[[W], Awaitable[float]]
) -> dict[str, list[float]]:
    """Each variant's rate per round, the variants taking turns round by round.

    The machine is shared, so load drifts during a run; alternating the
    variants round by round exposes each to the same conditions.
    """
    rates: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(rounds):
        for name, work in works.items():
            rates[name].append(await measure(work))
    return rates
