"""A bounded thread pool for script runs: the event loop only ever awaits them.

The interpreter is synchronous and CPU-bound, so a run must never execute on
the event loop. A semaphore caps runs in flight at the pool size; a request
that cannot get a slot within its wait budget is refused (503) instead of
queueing without bound behind runaway scripts. A slot is returned only when
the thread really finishes, so a run the caller stopped waiting for (a host
call stuck past the deadline) still occupies its thread and is counted.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["PoolBusy", "ScriptPool"]

T = TypeVar("T")


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("script run timed out"))


class PoolBusy(Exception):
    """No script thread became free within the wait budget."""


class ScriptPool:
    """``size`` threads running scripts; ``run`` awaits one call on them."""

    def __init__(self, size: int, *, name: str = "picloud-script") -> None:
        self.size = size
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=size, thread_name_prefix=name
        )
        # Created on first use so it binds to the serving loop, not the importer's.
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        return self._slots

    @property
    def in_flight(self) -> int:
        """Runs holding a thread right now."""
        return 0 if self._slots is None else self.size - self._slots._value

    async def run(self, fn: Callable[..., T], *args: Any, wait: float, timeout: float) -> T:
        """Run ``fn(*args)`` on a pool thread.

        Raises:
            PoolBusy: no thread was free within ``wait`` seconds.
            TimeoutError: the call did not return within ``timeout`` seconds
                (the thread keeps its slot until it does return).
        """
        if self._closed:
            raise PoolBusy("script pool is shut down")
        slots = self._semaphore()
        if slots.locked():
            try:
                await asyncio.wait_for(slots.acquire(), wait)
            except TimeoutError:
                raise PoolBusy("every script thread is busy") from None
        else:
            await slots.acquire()  # free: returns at once
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()

        def _settle(result: T | None, error: BaseException | None) -> None:
            # On the loop: free the slot, then wake the awaiting request if it still waits.
            slots.release()
            if not waiter.done():
                if error is not None:
                    waiter.set_exception(error)
                else:
                    waiter.set_result(result)  # type: ignore[arg-type]

        def _call() -> None:
            # On the pool thread: one cross-thread wake-up per run.
            try:
                result, error = fn(*args), None
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request
                result, error = None, exc
            try:
                loop.call_soon_threadsafe(_settle, result, error)
            except RuntimeError:  # the loop is closed (shutdown): nobody waits
                pass

        try:
            self._executor.submit(_call)
        except RuntimeError:
            slots.release()
            raise PoolBusy("script pool is shut down") from None
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def shutdown(self) -> None:
        """Stop accepting runs; running ones finish on their own deadlines."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
