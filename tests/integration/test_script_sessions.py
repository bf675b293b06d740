"""Script threads' own sessions: one connection per thread, no leftovers, limits honoured.

Every behaviour holds for both kinds of connection a session can open: asyncpg
on the thread's loop, and the blocking one the data plane uses
(:mod:`picloud.db_blocking`), whose calls are stepped without the loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import msgspec
import pytest

from picloud.db import connect
from picloud.db_blocking import connect_blocking
from picloud.events.types import EventMeta
from picloud.execution.pool import ScriptPool
from picloud.execution.sessions import ThreadSessions
from picloud.outbox.sender import configure_sender, send_after_commit
from picloud.rhai.errors import ErrorTerminated
from picloud.services import kv
from tests.integration._direct_paths import new_app, queued_writes, waiting_on_lock


@pytest.fixture(params=["asyncpg", "blocking"])
def new_sessions(request: pytest.FixtureRequest, database_url: str) -> Any:
    """Makes ``ThreadSessions`` on the test database, of either connection kind."""

    def make(**options: Any) -> ThreadSessions:
        if request.param == "blocking":
            return ThreadSessions(lambda: connect_blocking(database_url), blocking=True, **options)
        return ThreadSessions(lambda: connect(database_url), **options)

    return make


def _pid(sessions: ThreadSessions) -> int:
    return int(sessions.call(lambda conn: conn.fetchval("SELECT pg_backend_pid()"), 5.0))


async def _alive(pool: asyncpg.Pool, pids: set[int]) -> set[int]:
    rows = await pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[])", sorted(pids)
    )
    return {r["pid"] for r in rows}


async def _eventually_gone(pool: asyncpg.Pool, pids: set[int]) -> set[int]:
    deadline = time.monotonic() + 5
    while (alive := await _alive(pool, pids)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return alive


async def test_each_script_thread_keeps_one_connection_and_closes_it_on_shutdown(
    new_sessions: Any, database_url: str, pool: asyncpg.Pool
) -> None:
    # Given a two-thread script pool whose threads use sessions
    sessions = new_sessions()
    scripts = ScriptPool(2, on_exit=sessions.close_thread)
    both_running = threading.Barrier(2)

    def run() -> tuple[str, int, int]:
        both_running.wait(5)  # so that each thread takes one of the concurrent runs
        return threading.current_thread().name, _pid(sessions), _pid(sessions)

    # When runs make calls, two at a time, twice
    results = []
    for _ in range(2):
        results += await asyncio.gather(*(scripts.run(run, wait=5, timeout=5) for _ in range(2)))
    # Then every call of a thread used that thread's one connection, and threads differ
    by_thread: dict[str, set[int]] = {}
    for name, first, second in results:
        by_thread.setdefault(name, set()).update({first, second})
    assert len(by_thread) == 2
    assert all(len(pids) == 1 for pids in by_thread.values())
    pids = set.union(*by_thread.values())
    assert len(pids) == 2 and await _alive(pool, pids) == pids
    # And stopping the pool closes both connections
    scripts.shutdown()
    assert await _eventually_gone(pool, pids) == set()


async def test_a_call_past_its_limit_terminates_and_the_next_call_reconnects(
    new_sessions: Any, database_url: str, pool: asyncpg.Pool
) -> None:
    # Given a thread whose session is in use
    sessions = new_sessions()

    def scenario() -> tuple[int, float, int, int]:
        before = _pid(sessions)
        started = time.monotonic()
        # When a call runs past its limit
        with pytest.raises(ErrorTerminated):
            sessions.call(lambda conn: conn.execute("SELECT pg_sleep(3)"), 0.2)
        took = time.monotonic() - started
        # Then the next call works, on a new connection
        after = _pid(sessions)
        answer = int(sessions.call(lambda conn: conn.fetchval("SELECT 41 + 1"), 5.0))
        sessions.close_thread()
        return before, took, after, answer

    with ThreadPoolExecutor(1) as thread:
        before, took, after, answer = await asyncio.wrap_future(thread.submit(scenario))
    assert took < 1.5
    assert answer == 42 and after != before
    # And the abandoned connection does not linger
    assert await _eventually_gone(pool, {before, after}) == set()


async def test_a_transaction_left_open_is_rolled_back_before_the_next_call(
    new_sessions: Any, database_url: str, pool: asyncpg.Pool
) -> None:
    # Given a call that begins a transaction, writes, and returns without committing
    await pool.execute("CREATE TABLE notes (n int)")
    sessions = new_sessions()

    async def careless(conn: Any) -> None:
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO notes VALUES (1)")

    def scenario() -> tuple[bool, int]:
        sessions.call(careless, 5.0)
        state = sessions.call(
            lambda conn: conn.fetchrow(
                "SELECT pg_current_xact_id_if_assigned() IS NULL AS clean,"
                " (SELECT count(*) FROM notes) AS n"
            ),
            5.0,
        )
        sessions.close_thread()
        return state["clean"], state["n"]

    with ThreadPoolExecutor(1) as thread:
        clean, count = await asyncio.wrap_future(thread.submit(scenario))
    # Then the next call starts clean and the write never happened
    assert clean is True and count == 0
    assert await pool.fetchval("SELECT count(*) FROM notes") == 0


async def test_an_after_commit_send_happens_before_the_call_returns(
    new_sessions: Any, database_url: str
) -> None:
    # Given a broker that records what it is given
    sent: list[str] = []

    class Broker:
        def enqueue(self, message: Any) -> None:
            sent.append(message.args[0])

    sessions = new_sessions()

    async def write(conn: Any) -> list[str]:
        async with conn.transaction():
            send_after_commit(conn, "t:job:1")
            seen_in_transaction = list(sent)
        return seen_in_transaction

    def scenario() -> tuple[list[str], list[str]]:
        during = sessions.call(write, 5.0)
        after = list(sent)
        sessions.close_thread()
        return during, after

    configure_sender(lambda: Broker())
    try:
        with ThreadPoolExecutor(1) as thread:
            during, after = await asyncio.wrap_future(thread.submit(scenario))
    finally:
        configure_sender(None)
    # Then nothing was sent before the commit, and the key was sent when the call returned
    assert during == []
    assert after == ["t:job:1"]


async def test_a_connection_the_server_closed_while_idle_is_replaced_before_use(
    new_sessions: Any, database_url: str, pool: asyncpg.Pool
) -> None:
    # Given a thread whose session connection the server closes between two calls
    # (a restart or an idle timeout), checked for that after any idle moment
    sessions = new_sessions(idle_check_after=0.0)

    with ThreadPoolExecutor(1) as thread:

        def on_thread(fn: Any) -> Any:
            return asyncio.wrap_future(thread.submit(fn))

        before = await on_thread(lambda: _pid(sessions))
        assert await pool.fetchval("SELECT pg_terminate_backend($1)", before) is True
        assert await _eventually_gone(pool, {before}) == set()
        # When the thread makes its next call
        after = await on_thread(lambda: _pid(sessions))
        await on_thread(sessions.close_thread)
    # Then it runs on a new connection instead of failing
    assert after != before


async def test_writes_queued_on_script_threads_commit_together_and_each_call_returns(
    new_sessions: Any, pool: asyncpg.Pool
) -> None:
    # Given an app whose lock is held, and four script threads' sessions
    app_id = await new_app(pool, "threads")
    sessions = new_sessions()
    meta = EventMeta(actor="script:test")

    def write(value: int) -> None:
        data = msgspec.json.encode(value)
        sessions.call(lambda conn: kv.set_value(conn, meta, app_id, "c", "k", data), 10.0)

    scripts = ScriptPool(4, on_exit=sessions.close_thread)
    try:
        async with pool.acquire() as holder, holder.transaction():
            await holder.execute("SELECT picloud_lock_app($1::uuid)", app_id)
            # When one write waits for the lock and three more queue behind it
            first = asyncio.create_task(scripts.run(write, 0, wait=10, timeout=10))
            await waiting_on_lock(pool, 1)
            rest = [
                asyncio.create_task(scripts.run(write, i, wait=10, timeout=10)) for i in range(1, 4)
            ]
            await queued_writes(app_id, 3)
        # Then every call returns once the lock is free (the queued ones led by one of them)
        await asyncio.wait_for(asyncio.gather(first, *rest), 10)
    finally:
        scripts.shutdown()
    rows = await pool.fetch(
        "SELECT version, xmin::text AS tx FROM events"
        " WHERE app_id = $1::uuid AND type = 'kv.set' ORDER BY position",
        app_id,
    )
    # And the three queued writes were one transaction after the first
    assert [r["version"] for r in rows] == [1, 2, 3, 4]
    assert len({r["tx"] for r in rows[1:]}) == 1 and rows[0]["tx"] != rows[1]["tx"]


async def test_a_call_waiting_past_its_limit_for_a_queued_write_terminates(
    new_sessions: Any, pool: asyncpg.Pool
) -> None:
    # Given an app whose lock is held and a write waiting for it on one thread
    app_id = await new_app(pool, "waits")
    sessions = new_sessions()
    meta = EventMeta(actor="script:test")

    def write(limit: float) -> float:
        started = time.monotonic()
        try:
            sessions.call(lambda conn: kv.set_value(conn, meta, app_id, "c", "k", b"1"), limit)
        finally:
            sessions.close_thread()
        return time.monotonic() - started

    with ThreadPoolExecutor(2) as threads:
        async with pool.acquire() as holder, holder.transaction():
            await holder.execute("SELECT picloud_lock_app($1::uuid)", app_id)
            first = asyncio.wrap_future(threads.submit(write, 5.0))
            await waiting_on_lock(pool, 1)
            # When a second write queues behind it with only 0.3 s to live
            second = asyncio.wrap_future(threads.submit(write, 0.3))
            # Then it ends with the run's termination error, in time, while the lock is held
            with pytest.raises(ErrorTerminated):
                await asyncio.wait_for(second, 3)
        # And the first write still lands
        assert await asyncio.wait_for(first, 5) < 5
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM events WHERE app_id = $1::uuid AND type = 'kv.set'", app_id
        )
        == 1
    )
