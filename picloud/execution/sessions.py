"""Script threads' own database sessions: an SDK call runs on the calling thread.

Without them every ``kv::``/``docs::`` call hops to the serving event loop
and back (``SdkBridge.call``): a ``call_soon_threadsafe`` wake-up of the loop,
a task there, a future and a thread wake-up on the way back. On the 2-core
machines we measure on that hop costs about 130 µs of CPU, more than the
query it carries. Instead each script thread keeps one Postgres connection of
its own, opened on the thread's first call and reused by every later run on
that thread. Threads never share a session, and a run's calls are
sequential, so a connection serves one call at a time.

The data plane's sessions open blocking connections (:mod:`picloud.db_blocking`,
:func:`script_sessions`): a service coroutine then never suspends on I/O, so
the call steps it on the thread itself, with the thread's private event loop
only set as the running loop (futures and tasks it makes belong there); the
loop runs only if the coroutine waits for something (tasks it started).
Measured per SDK call: ~9 µs of CPU for the session around the statement,
against 40–50 µs for a turn of the loop (``run_until_complete``, on uvloop or
asyncio's) before asyncpg's own work. Sessions can also open asyncpg
connections, which run on the loop (``blocking=False``).

A call ends only when everything it started on the thread's loop has ended
(the outbox's after-commit send, for instance), so nothing is left pending
while the thread goes back to interpreting. Its time limit is the run's: past
it the call is cancelled — a blocking statement by a watchdog thread asking
the server to cancel it — the connection (its state unknown) is dropped and
the run ends with Rhai's termination error, as the hop would. A connection
that broke is dropped too; the next call opens a new one. Between calls
nothing watches the connection, so one the server closed meanwhile still
looks open: one idle for more than ``IDLE_CHECK_AFTER`` seconds answers a
``SELECT 1`` before it is used (as pools that "pre-ping" do).

Each script thread holds one connection besides the process's pool (so up to
``PICLOUD_SCRIPT_POOL_SIZE`` more per API process); the thread closes it when
the script pool shuts down (``ScriptPool(on_exit=sessions.close_thread)``).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from picloud.execution.connections import BROKEN, close_connection, new_loop
from picloud.rhai.errors import ErrorTerminated

__all__ = ["IDLE_CHECK_AFTER", "ThreadSessions", "call_remaining", "script_sessions"]

T = TypeVar("T")

#: A connection idle longer than this (seconds) is checked before use (one round trip).
IDLE_CHECK_AFTER = 5.0


class _Session:
    __slots__ = ("conn", "expired", "loop", "started", "used_at")

    def __init__(self) -> None:
        self.loop = new_loop()
        self.conn: Any = None
        #: The watchdog found the current call past its limit (and cancelled its statement).
        self.expired = False
        #: ``time.monotonic()`` at the end of the last call.
        self.used_at = 0.0
        #: Tasks created on the loop since the last call ended (the calls' own included).
        self.started: list[asyncio.Task[Any]] = []
        self.loop.set_task_factory(self._track)

    def _track(self, loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        # asyncio.all_tasks() would walk every task of every loop in the process.
        task = asyncio.Task(coro, loop=loop, **kwargs)
        self.started.append(task)
        return task


class _Watchdog:
    """Cancels the statement of a call that outlived its limit on a blocking connection.

    A blocking connection (:mod:`picloud.db_blocking`) holds its thread until
    the server answers, so the loop's own timeout cannot end it. Calls arm the
    watchdog with their deadline; one daemon thread sleeps until the earliest
    and asks the server to cancel what that session's connection runs. The
    session then drops the connection (the cancel may land on a later
    statement) and ends the run.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[_Session, float] = {}
        self._next = math.inf
        self._thread: threading.Thread | None = None

    def arm(self, session: _Session, deadline: float) -> None:
        with self._cond:
            self._armed[session] = deadline
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="picloud-session-watchdog", daemon=True
                )
                self._thread.start()
            if deadline < self._next:  # otherwise the watchdog wakes early enough already
                self._next = deadline
                self._cond.notify()

    def disarm(self, session: _Session) -> None:
        with self._cond:
            self._armed.pop(session, None)

    def _watch(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [s for s, deadline in self._armed.items() if deadline <= now]
                for session in due:
                    del self._armed[session]
                    session.expired = True
                self._next = min(self._armed.values(), default=math.inf)
                if not due:
                    self._cond.wait(None if self._next == math.inf else self._next - now)
                    continue
            for session in due:
                cancel = getattr(session.conn, "cancel", None)
                if cancel is not None:
                    cancel()


_watchdog = _Watchdog()

#: The deadline (monotonic) of the call running on this thread, if any.
_calls = threading.local()


def call_remaining() -> float | None:
    """Seconds left to the session call running on this thread (``None``: no call runs).

    Code that blocks its thread inside a call rather than awaiting (a queued
    write's wait, :mod:`picloud.services.write_batches`) must not wait longer.
    """
    deadline = getattr(_calls, "deadline", None)
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def _step(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], deadline: float) -> T:
    """Run ``coro`` on this thread, with the loop only if it has to wait.

    On a blocking connection a service coroutine usually never suspends: its
    statements block instead. Stepping it once, with ``loop`` as the thread's
    running loop (so futures and tasks it makes belong there), finishes it
    without the cost of a loop turn (40–50 µs of CPU per call, measured). Only
    a coroutine that waits — for a write batch's leader, or for tasks it
    started — goes on as a task on the loop, until ``deadline`` (monotonic).
    """
    if asyncio.events._get_running_loop() is not None:
        coro.close()
        raise RuntimeError("an event loop already runs on this thread")
    asyncio.events._set_running_loop(loop)
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        asyncio.events._set_running_loop(None)
    # Made directly, not through the loop's task factory: the call's own tidy-up
    # waits for the tasks the call started, and must not wait for its driver.
    limit = max(deadline - time.monotonic(), 0.0)
    task = asyncio.Task(_resume(coro, yielded, limit), loop=loop)
    return loop.run_until_complete(task)


async def _resume(coro: Coroutine[Any, Any, T], yielded: Any, limit: float) -> T:
    """Go on with ``coro`` after its first step ran outside the loop, as a task would.

    A coroutine suspends by yielding the future it waits for (``None``: just
    a turn of the loop); once that is done it is resumed and reads the
    future's result itself. Cancelled meanwhile (the call's limit), it has
    ``CancelledError`` thrown in, as a task's coroutine would.
    """
    async with asyncio.timeout(limit):
        return await _carry_on(coro, yielded)


async def _carry_on(coro: Coroutine[Any, Any, T], yielded: Any) -> T:
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                yielded._asyncio_future_blocking = False
                await asyncio.wait([yielded])
        except asyncio.CancelledError as exc:
            if yielded is not None:
                yielded.cancel()
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            continue
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


class ThreadSessions:
    """One private event loop and Postgres connection per calling thread."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[Any]],
        *,
        idle_check_after: float = IDLE_CHECK_AFTER,
        blocking: bool = False,
    ) -> None:
        #: Opens a connection (with the pool's codecs and server settings).
        self._connect = connect
        self._local = threading.local()
        self._idle_check_after = idle_check_after
        #: ``connect`` opens blocking connections (:mod:`picloud.db_blocking`):
        #: calls are stepped on the thread itself, the loop runs only when needed.
        self._blocking = blocking

    def call(self, fn: Callable[[Any], Awaitable[T]], limit: float) -> T:
        """``await fn(conn)`` on this thread's session, within ``limit`` seconds.

        Raises:
            ErrorTerminated: no result within ``limit`` (the call is cancelled).
            RuntimeError: an event loop already runs on this thread.
        """
        session: _Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _Session()
        # The loop's timeout ends awaits; the watchdog ends a blocking statement.
        deadline = time.monotonic() + limit
        _watchdog.arm(session, deadline)
        _calls.deadline = deadline
        error: BaseException | None = None
        try:
            if self._blocking:
                result = _step(session.loop, self._attempt(session, fn), deadline)
            else:
                result = session.loop.run_until_complete(self._timed(session, fn, limit))
        except BaseException as exc:  # noqa: BLE001 - sorted out below, then raised
            error = exc
        _calls.deadline = None
        _watchdog.disarm(session)
        expired, session.expired = session.expired, False
        if expired or isinstance(error, TimeoutError):
            # Past the limit; after a watchdog's cancel that may still be on its way
            # to the server, the connection is not trusted for the next statement.
            self._drop(session)
            raise ErrorTerminated("Script terminated: run time limit exceeded") from None
        if error is not None:
            if isinstance(error, BROKEN):
                self._drop(session)
            raise error
        return result

    async def _timed(self, session: _Session, fn: Callable[[Any], Awaitable[T]], limit: float) -> T:
        async with asyncio.timeout(limit):
            return await self._attempt(session, fn)

    async def _attempt(self, session: _Session, fn: Callable[[Any], Awaitable[T]]) -> T:
        conn = session.conn
        if conn is not None and time.monotonic() - session.used_at > self._idle_check_after:
            conn = await self._checked(session)
        if conn is None or conn.is_closed():
            conn = session.conn = await self._connect()
        try:
            result = await fn(conn)
        except Exception:
            await self._tidy(session)
            raise
        await self._tidy(session)
        return result

    async def _checked(self, session: _Session) -> Any:
        """The session's connection if it still answers, else ``None`` (dropped).

        The loop does not run while the thread interprets, so a connection the
        server closed meanwhile (a restart, an idle timeout) still looks open:
        a side-effect-free query finds out before the call's own statement would.
        """
        try:
            await session.conn.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - any failure: open a new connection instead
            self._drop(session)
            return None
        return session.conn

    async def _tidy(self, session: _Session) -> None:
        """Leave the connection as the next call expects it: no transaction, nothing pending."""
        conn = session.conn
        if conn is not None and not conn.is_closed() and conn.is_in_transaction():
            # Services close their transactions; this only keeps the next call
            # from inheriting a half-done one.
            try:
                await conn.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - the caller's error is the one to report
                self._drop(session)
        # Whatever the call started here (after-commit sends) ends with it.
        me = asyncio.current_task()
        while pending := [t for t in session.started if t is not me and not t.done()]:
            session.started.clear()
            await asyncio.wait(pending)
        session.started.clear()
        session.used_at = time.monotonic()

    @staticmethod
    def _drop(session: _Session) -> None:
        conn, session.conn = session.conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()
            if not session.loop.is_running():
                # An asyncpg transport closes on the loop's next turn.
                session.loop.run_until_complete(asyncio.sleep(0))

    def close_thread(self) -> None:
        """Close the calling thread's session (a script thread calls it as it exits)."""
        session: _Session | None = getattr(self._local, "session", None)
        if session is None:
            return
        self._local.session = None
        conn, session.conn = session.conn, None
        try:
            if conn is not None and not conn.is_closed():
                session.loop.run_until_complete(close_connection(conn))
        finally:
            session.loop.close()


def script_sessions(settings: Any) -> ThreadSessions:
    """Script threads' sessions as the data plane opens them: blocking connections.

    :mod:`picloud.db_blocking` explains why a script thread's connection is a
    blocking libpq one behind asyncpg's API rather than asyncpg itself.
    """
    from picloud.db_blocking import connect_blocking

    return ThreadSessions(lambda: connect_blocking(settings), blocking=True)
