"""The one SDK bridge: a script run calls an async service.

Scripts run off the serving loop (a reactor thread's greenlets or pool
threads); services (Postgres, Redis) are asyncio code. ``SdkBridge.call``
submits a coroutine to the serving loop with ``run_coroutine_threadsafe``
and waits for it, never longer than the run has left, so a slow service
cannot hold a run past the script's wall-clock budget; a reactor run waits
on its own loop instead of blocking the thread its neighbours share.
``with_conn`` skips the hop: with ``sessions`` (the reactor, or the threads'
:class:`~picloud.execution.sessions.ThreadSessions`) the service runs on the
run's own connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from picloud.execution.reactor import ScriptReactor, in_reactor_run, wait_in_run
from picloud.execution.sessions import ThreadSessions
from picloud.rhai.errors import ErrorTerminated

__all__ = ["BridgeError", "SdkBridge"]

T = TypeVar("T")


class BridgeError(RuntimeError):
    """The bridge was used from the loop thread itself (it would deadlock)."""


class SdkBridge:
    """Runs coroutines on ``loop`` for callers on other threads."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pool: Any = None,
        *,
        max_wait: float = 30.0,
        sessions: ThreadSessions | ScriptReactor | None = None,
    ) -> None:
        self.loop = loop
        #: The asyncpg pool services borrow a connection from.
        self.pool = pool
        #: Script runs' own connections: ``with_conn`` runs there, without the hop.
        self.sessions = sessions
        self.max_wait = max_wait
        self._loop_thread = threading.get_ident() if _running_in(loop) else None

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and return its result.

        Raises:
            ErrorTerminated: no result within ``timeout`` (or the run's remaining
                time); the coroutine is cancelled.
            BridgeError: called on the loop's own thread.
        """
        if self._loop_thread is not None and threading.get_ident() == self._loop_thread:
            coro.close()
            raise BridgeError("the SDK bridge cannot be used from the event loop thread")
        limit = self._limit(timeout)
        if in_reactor_run():
            # Blocking here would stop every run of the reactor thread: wait on its loop.
            loop = self.loop
            return wait_in_run(
                lambda: asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop)), limit
            )
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(limit)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise ErrorTerminated("Script terminated: run time limit exceeded") from None

    def with_conn(self, fn: Callable[[Any], Awaitable[T]], timeout: float | None = None) -> T:
        """``await fn(conn)`` with a connection, from a script thread.

        With ``sessions`` the coroutine runs on the calling thread's own loop and
        connection (:mod:`picloud.execution.sessions`); otherwise on the serving
        loop with a pooled connection.
        """
        if self.sessions is not None:
            if self._loop_thread is not None and threading.get_ident() == self._loop_thread:
                raise BridgeError("the SDK bridge cannot be used from the event loop thread")
            return self.sessions.call(fn, self._limit(timeout))

        async def _run() -> T:
            async with self.pool.acquire() as conn:
                return await fn(conn)

        return self.call(_run(), timeout)

    def _limit(self, timeout: float | None) -> float:
        from picloud.execution.run import current_run

        limit = self.max_wait if timeout is None else min(timeout, self.max_wait)
        run = current_run()
        if run is not None:
            limit = min(limit, run.remaining())
        return max(limit, 0.001)


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
