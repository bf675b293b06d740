"""Script threads' own database sessions: an SDK call runs on the calling thread.

Without them every ``kv::``/``docs::`` call hops to the serving event loop
and back (``SdkBridge.call``): a ``call_soon_threadsafe`` wake-up of the loop,
a task there, a future and a thread wake-up on the way back. On the 2-core
machines we measure on that hop costs about 130 µs of CPU, more than the
query it carries. Instead each script thread keeps a private event loop and
one Postgres connection of its own, opened on the thread's first call and
reused by every later run on that thread; the service coroutine runs there
with ``run_until_complete`` (on uvloop: bench/kv_docs.py at 8 workers made
10–20% more pairs/s with it than with asyncio's own loop). Threads never share a session, and a run's calls
are sequential, so a connection serves one call at a time.

A call ends only when everything it started on the thread's loop has ended
(the outbox's after-commit send, for instance), so nothing is left pending
while the thread goes back to interpreting. Its time limit is the run's: past
it the call is cancelled, the connection (its state unknown) is dropped and
the run ends with Rhai's termination error, as the hop would. A connection
that broke is dropped too; the next call opens a new one. Between calls the
loop does not run, so a connection the server closed meanwhile still looks
open: one idle for more than ``IDLE_CHECK_AFTER`` seconds answers a
``SELECT 1`` before it is used (as pools that "pre-ping" do).

Each script thread holds one connection besides the process's pool (so up to
``PICLOUD_SCRIPT_POOL_SIZE`` more per API process); the thread closes it when
the script pool shuts down (``ScriptPool(on_exit=sessions.close_thread)``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from picloud.rhai.errors import ErrorTerminated

__all__ = ["IDLE_CHECK_AFTER", "ThreadSessions"]

T = TypeVar("T")

#: A connection idle longer than this (seconds) is checked before use (one round trip).
IDLE_CHECK_AFTER = 5.0

#: Errors after which a connection is not trusted again (a new one is opened).
_BROKEN = (
    ConnectionError,
    OSError,
    asyncio.CancelledError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (faster under concurrent script threads), else asyncio's."""
    try:
        import uvloop
    except ImportError:  # Windows: uvloop does not exist there
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class _Session:
    __slots__ = ("conn", "loop", "started", "used_at")

    def __init__(self) -> None:
        self.loop = _new_loop()
        self.conn: Any = None
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


class ThreadSessions:
    """One private event loop and Postgres connection per calling thread."""

    def __init__(
        self, connect: Callable[[], Awaitable[Any]], *, idle_check_after: float = IDLE_CHECK_AFTER
    ) -> None:
        #: Opens a connection (with the pool's codecs and server settings).
        self._connect = connect
        self._local = threading.local()
        self._idle_check_after = idle_check_after

    def call(self, fn: Callable[[Any], Awaitable[T]], limit: float) -> T:
        """``await fn(conn)`` on this thread's session, within ``limit`` seconds.

        Raises:
            ErrorTerminated: no result within ``limit`` (the call is cancelled).
            RuntimeError: an event loop already runs on this thread.
        """
        session: _Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _Session()
        return session.loop.run_until_complete(self._run(session, fn, limit))

    async def _run(self, session: _Session, fn: Callable[[Any], Awaitable[T]], limit: float) -> T:
        try:
            async with asyncio.timeout(limit):
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
        except TimeoutError:
            self._drop(session)
            raise ErrorTerminated("Script terminated: run time limit exceeded") from None
        except _BROKEN:
            self._drop(session)
            raise

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

    def close_thread(self) -> None:
        """Close the calling thread's session (a script thread calls it as it exits)."""
        session: _Session | None = getattr(self._local, "session", None)
        if session is None:
            return
        self._local.session = None
        conn, session.conn = session.conn, None
        try:
            if conn is not None and not conn.is_closed():
                session.loop.run_until_complete(_close(conn))
        finally:
            session.loop.close()


async def _close(conn: Any) -> None:
    try:
        await asyncio.wait_for(conn.close(), 2.0)
    except Exception:  # noqa: BLE001 - closing a broken connection: just drop it
        conn.terminate()
