"""Script runs as greenlets on reactor threads: many runs share a thread, each its connection.

A run is plain synchronous code; its SDK calls (``reactor.call``) wait on the
reactor thread's loop while the other runs of that thread go on. These tests
drive a :class:`~picloud.execution.reactor.ScriptReactor` the way the data
plane does, against the test's PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from picloud.db import connect
from picloud.execution.bridge import SdkBridge
from picloud.execution.pool import PoolBusy
from picloud.execution.reactor import ScriptReactor, cooperate, in_reactor_run, wait_in_run
from picloud.execution.run import ScriptRun, bind_run, current_run
from picloud.rhai import Engine
from picloud.rhai.errors import ErrorTerminated

# ---------------------------------------------------------------------- helpers


def _reactor(database_url: str, size: int) -> ScriptReactor:
    return ScriptReactor(size, lambda: connect(database_url))


def _value(reactor: ScriptReactor, sql: str, *args: Any, limit: float = 5.0) -> Any:
    """One SDK-style call from a run: ``fetchval(sql)`` on the run's connection."""
    return reactor.call(lambda conn: conn.fetchval(sql, *args), limit)


def _pid(reactor: ScriptReactor) -> int:
    return int(_value(reactor, "SELECT pg_backend_pid()"))


async def _alive(pool: asyncpg.Pool, pids: set[int]) -> set[int]:
    rows = await pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[])", sorted(pids)
    )
    return {r["pid"] for r in rows}


async def _eventually_gone(pool: asyncpg.Pool, pids: set[int], within: float = 5.0) -> set[int]:
    deadline = time.monotonic() + within
    while (alive := await _alive(pool, pids)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return alive


async def _until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def _script_run(request_id: str, seconds: float = 5.0) -> ScriptRun:
    return ScriptRun(
        app_id="00000000-0000-0000-0000-000000000001",
        app_slug="reactor",
        script_id="00000000-0000-0000-0000-000000000002",
        script_name="reactor-test",
        request_id=request_id,
        principal=None,
        modules={},
        deadline=time.monotonic() + seconds,
    )


# ---------------------------------------------------------------------- sharing a thread


async def test_runs_on_one_thread_wait_for_the_database_at_the_same_time(
    database_url: str, pool: asyncpg.Pool
) -> None:
    # Given a reactor of one thread admitting eight runs at once
    reactor = _reactor(database_url, 8)

    def run() -> tuple[int, int]:
        pid = _pid(reactor)
        reactor.call(lambda conn: conn.execute("SELECT pg_sleep(0.3)"), 5.0)
        return threading.get_ident(), pid

    try:
        # When eight runs each wait 0.3 s on Postgres
        started = time.monotonic()
        results = await asyncio.gather(*(reactor.run(run, wait=5, timeout=5) for _ in range(8)))
        took = time.monotonic() - started
        # And a later run makes a call once they have ended
        later = await reactor.run(lambda: _pid(reactor), wait=5, timeout=5)
    finally:
        reactor.shutdown()
    # Then their waits overlapped (one after the other would take 2.4 s)
    assert took < 1.5
    # And all of them ran on the same thread, which is not the test's
    threads = {ident for ident, _ in results}
    assert len(threads) == 1 and threading.get_ident() not in threads
    # And each run had a connection of its own, given back for later runs when it ended
    pids = {pid for _, pid in results}
    assert len(pids) == 8
    assert later in pids


async def test_a_call_past_its_limit_ends_the_run_and_the_next_run_reconnects(
    database_url: str,
) -> None:
    # Given a reactor whose run has a connection
    reactor = _reactor(database_url, 2)
    seen: list[int] = []
    finished: list[str] = []

    def run() -> None:
        seen.append(_pid(reactor))
        # When a call runs past its 0.2 s limit
        reactor.call(lambda conn: conn.execute("SELECT pg_sleep(5)"), 0.2)
        finished.append("the call returned")

    try:
        started = time.monotonic()
        # Then the run ends with Rhai's termination error, in time
        with pytest.raises(ErrorTerminated):
            await reactor.run(run, wait=5, timeout=10)
        took = time.monotonic() - started
        # And a following run works, on a fresh connection (the untrusted one is not reused)
        after, answer = await reactor.run(
            lambda: (_pid(reactor), _value(reactor, "SELECT 41 + 1")), wait=5, timeout=5
        )
    finally:
        reactor.shutdown()
    assert took < 1.5 and finished == []
    assert answer == 42 and after != seen[0]


async def test_the_statement_of_a_call_past_its_limit_is_cancelled_on_the_server(
    database_url: str, pool: asyncpg.Pool
) -> None:
    # Given a run whose call writes after waiting longer than the call's limit
    await pool.execute("CREATE TABLE notes (n int)")
    reactor = _reactor(database_url, 1)
    seen: list[int] = []

    def run() -> None:
        seen.append(_pid(reactor))
        reactor.call(
            lambda conn: conn.execute("INSERT INTO notes SELECT 1 FROM pg_sleep(0.8)"), 0.2
        )

    try:
        # When the call runs past its limit and the run ends
        with pytest.raises(ErrorTerminated):
            await reactor.run(run, wait=5, timeout=5)
        ended = time.monotonic()
        # Then the statement's backend goes away soon
        assert await _eventually_gone(pool, set(seen)) == set()
        gone_after = time.monotonic() - ended
    finally:
        reactor.shutdown()
    # And the write the run was terminated in never lands
    assert await pool.fetchval("SELECT count(*) FROM notes") == 0
    assert gone_after < 0.5


async def test_a_service_error_is_raised_at_the_call_and_the_run_goes_on(
    database_url: str,
) -> None:
    # Given a reactor of one thread
    reactor = _reactor(database_url, 4)

    def careful() -> tuple[str, int, int, int]:
        before = _pid(reactor)
        # When a call fails in the service, and the run catches the error
        try:
            _value(reactor, "SELECT 1/0")
            caught = "nothing"
        except asyncpg.DivisionByZeroError as exc:
            caught = type(exc).__name__
        # Then the run goes on making calls, on the same connection
        return caught, _value(reactor, "SELECT 41 + 1"), before, _pid(reactor)

    try:
        caught, answer, before, after = await reactor.run(careful, wait=5, timeout=5)
    finally:
        reactor.shutdown()
    assert caught == "DivisionByZeroError"
    assert answer == 42 and after == before


async def test_a_failing_run_does_not_disturb_the_others_on_its_thread(
    database_url: str,
) -> None:
    # Given a reactor of one thread and a run busy waiting on Postgres
    reactor = _reactor(database_url, 4)

    def patient() -> int:
        reactor.call(lambda conn: conn.execute("SELECT pg_sleep(0.3)"), 5.0)
        return int(_value(reactor, "SELECT 41 + 1"))

    def uncaught() -> None:
        _value(reactor, "SELECT 1/0")

    def broken() -> None:
        _value(reactor, "SELECT 1")
        raise ValueError("the script's own bug")

    try:
        # When two other runs of the thread fail meanwhile: one with a service
        # error it does not catch, one raising on its own
        results = await asyncio.gather(
            reactor.run(patient, wait=5, timeout=5),
            reactor.run(uncaught, wait=5, timeout=5),
            reactor.run(broken, wait=5, timeout=5),
            return_exceptions=True,
        )
        # And a run comes after them
        after = await reactor.run(lambda: _value(reactor, "SELECT 7"), wait=5, timeout=5)
    finally:
        reactor.shutdown()
    # Then each failing run's request gets its own error
    assert isinstance(results[1], asyncpg.DivisionByZeroError)
    assert isinstance(results[2], ValueError) and str(results[2]) == "the script's own bug"
    # And the patient run and the later one get their answers
    assert results[0] == 42 and after == 7


async def test_a_transaction_left_open_is_rolled_back_before_the_next_call(
    database_url: str, pool: asyncpg.Pool
) -> None:
    # Given calls that begin a transaction, write, and return without committing,
    # one of them failing half-way
    await pool.execute("CREATE TABLE notes (n int)")
    reactor = _reactor(database_url, 2)

    async def careless(conn: Any) -> None:
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO notes VALUES (1)")

    async def careless_and_failing(conn: Any) -> None:
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO notes VALUES (2)")
        await conn.execute("SELECT 1/0")

    async def state(conn: Any) -> tuple[bool, int]:
        return conn.is_in_transaction(), int(await conn.fetchval("SELECT count(*) FROM notes"))

    def run() -> list[tuple[bool, int]]:
        # When a run makes each such call, and more calls after them
        reactor.call(careless, 5.0)
        states = [reactor.call(state, 5.0)]
        with pytest.raises(asyncpg.DivisionByZeroError):
            reactor.call(careless_and_failing, 5.0)
        states.append(reactor.call(state, 5.0))
        return states

    try:
        states = await reactor.run(run, wait=5, timeout=5)
    finally:
        reactor.shutdown()
    # Then each next call starts outside a transaction and the writes never happened
    assert states == [(False, 0), (False, 0)]
    assert await pool.fetchval("SELECT count(*) FROM notes") == 0


async def test_the_run_bound_by_the_script_is_the_one_its_services_see(
    database_url: str,
) -> None:
    # Given a reactor of one thread, and a service reading the current run
    # across a wait on Postgres
    reactor = _reactor(database_url, 4)

    async def service(conn: Any) -> tuple[str | None, str | None]:
        before = current_run()
        await conn.execute("SELECT pg_sleep(0.1)")
        after = current_run()
        return (
            before.request_id if before is not None else None,
            after.request_id if after is not None else None,
        )

    def run(request_id: str) -> tuple[tuple[str | None, str | None], Any]:
        # When runs sharing the thread each bind their own run and call the service
        with bind_run(_script_run(request_id)):
            inside = reactor.call(service, 5.0)
        # And call it again once the run is unbound
        return inside, reactor.call(service, 5.0)

    try:
        results = await asyncio.gather(
            *(reactor.run(run, f"req-{i}", wait=5, timeout=5) for i in range(3))
        )
    finally:
        reactor.shutdown()
    # Then the service saw each run's own binding, before and after its wait
    assert [inside for inside, _ in results] == [(f"req-{i}", f"req-{i}") for i in range(3)]
    # And nothing once the run unbound it, nor on the test's own loop
    assert all(unbound == (None, None) for _, unbound in results)
    assert current_run() is None


async def test_a_busy_script_lets_the_other_runs_of_its_thread_go_first(
    database_url: str,
) -> None:
    # Given an engine whose budget checks cooperate, and a reactor of one thread
    engine = Engine().on_budget(cooperate)
    reactor = _reactor(database_url, 4)
    busy_started = threading.Event()

    def busy() -> Any:
        busy_started.set()
        return engine.eval("let x = 0; loop { x += 1; }", timeout=1.0)

    def quick() -> int:
        return int(_value(reactor, "SELECT 41 + 1"))

    try:
        # When a script loops without end in one run
        started = time.monotonic()
        busy_run = asyncio.ensure_future(reactor.run(busy, wait=5, timeout=5))
        await _until(busy_started.is_set)
        # And a quick run with one SDK call starts on the same thread just after
        quick_started = time.monotonic()
        answer = await reactor.run(quick, wait=5, timeout=5)
        quick_took = time.monotonic() - quick_started
        # Then the quick run finishes long before the busy one ends
        assert answer == 42
        assert quick_took < 0.5
        assert not busy_run.done()
        # And the busy one ends at the engine's own deadline
        with pytest.raises(ErrorTerminated):
            await busy_run
        assert time.monotonic() - started >= 0.9
    finally:
        reactor.shutdown()


# ---------------------------------------------------------------------- admission


async def test_a_run_waits_for_a_slot_and_is_refused_past_its_wait_budget(
    database_url: str,
) -> None:
    # Given a reactor admitting one run at a time, with a run waiting on Postgres
    reactor = _reactor(database_url, 1)
    events: list[tuple[str, float]] = []
    first_running = threading.Event()

    def first() -> str:
        first_running.set()
        reactor.call(lambda conn: conn.execute("SELECT pg_sleep(0.4)"), 5.0)
        events.append(("first ended", time.monotonic()))
        return "first"

    def second() -> str:
        events.append(("second started", time.monotonic()))
        return str(_value(reactor, "SELECT 'second'"))

    def impatient() -> str:
        events.append(("impatient started", time.monotonic()))
        return "impatient"

    try:
        first_run = asyncio.ensure_future(reactor.run(first, wait=5, timeout=5))
        await _until(first_running.is_set)
        # When a second run queues with time to wait, and a third willing to wait 0.1 s only
        second_run = asyncio.ensure_future(reactor.run(second, wait=5, timeout=5))
        impatient_run = asyncio.ensure_future(reactor.run(impatient, wait=0.1, timeout=5))
        # Then the second runs once the first has ended
        assert await first_run == "first"
        assert await second_run == "second"
        assert [name for name, _ in events[:2]] == ["first ended", "second started"]
        # And the third is refused, without ever running
        with pytest.raises(PoolBusy):
            await impatient_run
    finally:
        reactor.shutdown()
    assert [name for name, _ in events] == ["first ended", "second started"]


async def test_a_run_refused_past_its_wait_does_not_hold_up_the_runs_queued_behind_it(
    database_url: str,
) -> None:
    # Given a reactor admitting one run at a time, with a run waiting on Postgres
    reactor = _reactor(database_url, 1)
    first_running = threading.Event()
    ran: list[str] = []

    def first() -> None:
        first_running.set()
        reactor.call(lambda conn: conn.execute("SELECT pg_sleep(0.3)"), 5.0)

    def note(name: str) -> str:
        ran.append(name)
        return name

    try:
        first_run = asyncio.ensure_future(reactor.run(first, wait=5, timeout=5))
        await _until(first_running.is_set)
        # When a run willing to wait 0.05 s queues, and then one willing to wait 5 s
        impatient = asyncio.ensure_future(reactor.run(note, "impatient", wait=0.05, timeout=5))
        patient = asyncio.ensure_future(reactor.run(note, "patient", wait=5, timeout=5))
        await first_run
        # Then the impatient one is refused when the slot frees
        with pytest.raises(PoolBusy):
            await impatient
        # And the patient one runs in that slot right after (not at its hard limit)
        assert await asyncio.wait_for(patient, 0.5) == "patient"
    finally:
        reactor.shutdown()
    assert ran == ["patient"]


async def test_no_more_than_size_runs_run_at_once(
    database_url: str,
) -> None:
    # Given a reactor admitting three runs at once
    reactor = _reactor(database_url, 3)
    lock = threading.Lock()
    running = [0]
    most = [0]

    def run() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        reactor.call(lambda conn: conn.execute("SELECT pg_sleep(0.3)"), 5.0)
        with lock:
            running[0] -= 1

    try:
        # When four runs that each wait on Postgres are submitted together
        await asyncio.gather(*(reactor.run(run, wait=5, timeout=5) for _ in range(4)))
    finally:
        reactor.shutdown()
    # Then at most three of them ran at once
    assert most[0] <= 3


# ---------------------------------------------------------------------- outside a run


async def test_calls_from_outside_a_reactor_run_are_refused_and_cooperate_does_nothing(
    database_url: str,
) -> None:
    # Given a reactor, and code that is not one of its runs
    reactor = _reactor(database_url, 1)
    asked: list[str] = []

    def ask(conn: Any) -> Any:
        asked.append("the service was called")
        return conn.fetchval("SELECT 1")

    def from_a_plain_thread() -> tuple[bool, str, str]:
        cooperate()
        try:
            reactor.call(ask, 1.0)
            called = "no error"
        except RuntimeError as exc:
            called = str(exc)
        try:
            wait_in_run(lambda: asyncio.sleep(0), 1.0)
            waited = "no error"
        except RuntimeError as exc:
            waited = str(exc)
        return in_reactor_run(), called, waited

    try:
        # When the test's loop and a plain thread try SDK calls and cooperate
        with pytest.raises(RuntimeError, match="not called from a reactor run"):
            reactor.call(ask, 1.0)
        started = time.monotonic()
        assert cooperate() is None
        assert time.monotonic() - started < 0.1
        in_run, called, waited = await asyncio.to_thread(from_a_plain_thread)
        # And a run checks where it is
        inside = await reactor.run(in_reactor_run, wait=5, timeout=5)
    finally:
        reactor.shutdown()
    # Then the calls are refused without reaching the service, and cooperate was a no-op
    assert "not called from a reactor run" in called
    assert "not called from a reactor run" in waited
    assert asked == []
    assert in_run is False and in_reactor_run() is False and inside is True


# ---------------------------------------------------------------------- the SDK bridge


async def test_the_bridge_awaits_on_the_serving_loop_without_blocking_the_reactor_thread(
    database_url: str, pool: asyncpg.Pool
) -> None:
    # Given an SDK bridge to the test's loop whose sessions are a one-thread reactor
    reactor = _reactor(database_url, 4)
    bridge = SdkBridge(asyncio.get_running_loop(), pool, sessions=reactor)
    serving_thread = threading.get_ident()
    ended: dict[str, float] = {}
    bridging = threading.Event()

    async def on_the_serving_loop() -> int:
        await asyncio.sleep(0.3)
        return threading.get_ident()

    def slow() -> tuple[int, int, int]:
        bridging.set()
        # When a run awaits a coroutine on the serving loop through the bridge
        ran_on = bridge.call(on_the_serving_loop())
        ended["slow"] = time.monotonic()
        # And asks the bridge for a connection
        bridged = bridge.with_conn(lambda conn: conn.fetchval("SELECT pg_backend_pid()"))
        return ran_on, int(bridged), _pid(reactor)

    def quick() -> int:
        answer = int(_value(reactor, "SELECT 41 + 1"))
        ended["quick"] = time.monotonic()
        return answer

    try:
        slow_run = asyncio.ensure_future(reactor.run(slow, wait=5, timeout=5))
        await _until(bridging.is_set)
        # And another run of the thread makes a database call meanwhile
        answer = await reactor.run(quick, wait=5, timeout=5)
        ran_on, bridged_pid, own_pid = await slow_run
    finally:
        reactor.shutdown()
    # Then the coroutine ran on the serving loop's thread
    assert ran_on == serving_thread
    # And the other run finished while the bridged await was still going on
    assert answer == 42 and ended["quick"] < ended["slow"]
    # And with_conn went through the run's own reactor connection, not the serving pool
    assert bridged_pid == own_pid


async def test_a_bridged_await_past_its_limit_ends_the_run_and_is_cancelled(
    database_url: str, pool: asyncpg.Pool
) -> None:
    # Given an SDK bridge to the test's loop whose sessions are a reactor
    reactor = _reactor(database_url, 2)
    bridge = SdkBridge(asyncio.get_running_loop(), pool, sessions=reactor)
    outcome: list[str] = []

    async def too_slow() -> None:
        try:
            await asyncio.sleep(5)
            outcome.append("finished")
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    def run() -> None:
        # When a run bound with 0.2 s left awaits a 5 s coroutine through the bridge
        with bind_run(_script_run("short", seconds=0.2)):
            bridge.call(too_slow())

    try:
        started = time.monotonic()
        # Then the run ends with the termination error at its deadline
        with pytest.raises(ErrorTerminated):
            await reactor.run(run, wait=5, timeout=5)
        assert time.monotonic() - started < 1.5
        # And the coroutine on the serving loop is cancelled
        await _until(lambda: bool(outcome), within=2.0)
    finally:
        reactor.shutdown()
    assert outcome == ["cancelled"]


# ---------------------------------------------------------------------- shutdown


async def test_shutdown_lets_running_runs_finish_then_stops_the_thread_and_closes_connections(
    database_url: str, pool: asyncpg.Pool
) -> None:
    # Given a reactor with two runs waiting on Postgres
    reactor = _reactor(database_url, 2)
    threads: list[threading.Thread] = []
    pids: list[int] = []
    ran: list[str] = []

    def run() -> str:
        threads.append(threading.current_thread())
        pids.append(_pid(reactor))
        reactor.call(lambda conn: conn.execute("SELECT pg_sleep(0.3)"), 5.0)
        return "done"

    def queued() -> None:
        ran.append("queued")

    try:
        runs = [asyncio.ensure_future(reactor.run(run, wait=5, timeout=5)) for _ in range(2)]
        await _until(lambda: len(pids) == 2)
        queued_run = asyncio.ensure_future(reactor.run(queued, wait=5, timeout=5))
        await asyncio.sleep(0.05)
        # When the reactor shuts down while they run and another waits for a slot
        reactor.shutdown()
        # Then the running ones finish, and the waiting one is refused unrun
        assert await asyncio.gather(*runs) == ["done", "done"]
        with pytest.raises(PoolBusy):
            await queued_run
        assert ran == []
        # And the reactor thread stops and closes their connections
        assert len({t.ident for t in threads}) == 1 and len(set(pids)) == 2
        for thread in threads:
            await asyncio.to_thread(thread.join, 5)
            assert not thread.is_alive()
        assert await _eventually_gone(pool, set(pids)) == set()
        # And a new run is refused
        with pytest.raises(PoolBusy):
            await reactor.run(queued, wait=5, timeout=5)
        assert ran == []
    finally:
        reactor.shutdown()  # a no-op once shut down


async def test_shutdown_before_any_run_refuses_runs(database_url: str) -> None:
    # Given a reactor that never ran anything, shut down
    reactor = _reactor(database_url, 2)
    reactor.shutdown()
    ran: list[str] = []
    # When a run is submitted
    with pytest.raises(PoolBusy):
        await reactor.run(lambda: ran.append("ran"), wait=5, timeout=5)
    # Then it never ran
    assert ran == []
