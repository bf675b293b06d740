"""A bounded thread pool for script runs: the event loop only ever awaits them.

The interpreter is synchronous and CPU-bound, so a run must never execute on
the event loop. ``size`` threads take runs from one queue; runs beyond them
queue, but never without bound: past ``size + max_queued`` pending runs a
request is refused at once (503), and a run that waited longer than its
``wait`` budget for a thread is dropped unrun (also 503) rather than started
late.

Handing a run to a thread and its result back is the data plane's largest
fixed cost, so it is kept lean: plain threads on a ``SimpleQueue`` (no
executor futures), and finished runs are collected in a deque that the loop
drains on one wake-up however many finished meanwhile. A sweeper fails a
waiter whose run overstays its hard limit — a backstop for a host call stuck
past the interpreter's own deadline; that thread stays busy until it returns.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["PoolBusy", "ScriptPool"]

T = TypeVar("T")

log = logging.getLogger("picloud.execution")

#: Default runs allowed to queue per thread before requests are refused.
QUEUED_PER_THREAD = 64
#: How often overdue waiters are looked for (seconds).
SWEEP_INTERVAL = 0.25


class PoolBusy(Exception):
    """No script thread became free within the wait budget (or the queue is full)."""


class _Job:
    __slots__ = (
        "args",
        "error",
        "fn",
        "hard_deadline",
        "loop",
        "queued_at",
        "result",
        "wait",
        "waiter",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        waiter: asyncio.Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        wait: float,
        timeout: float,
    ) -> None:
        self.loop = loop
        self.waiter = waiter
        self.fn = fn
        self.args = args
        self.wait = wait
        self.queued_at = time.monotonic()
        self.hard_deadline = self.queued_at + wait + timeout
        self.result: Any = None
        self.error: BaseException | None = None


class ScriptPool:
    """``size`` threads running scripts; ``run`` awaits one call on them."""

    def __init__(
        self,
        size: int,
        *,
        max_queued: int | None = None,
        name: str = "picloud-script",
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self.size = size
        #: Run by each thread as it stops (closing its database session).
        self._on_exit = on_exit
        queued = size * QUEUED_PER_THREAD if max_queued is None else max_queued
        self.max_pending = size + queued
        #: Runs submitted and not yet settled (touched on the loop thread only).
        self.pending = 0
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._finished: collections.deque[_Job] = collections.deque()
        self._wake_scheduled = False
        self._inflight: set[_Job] = set()
        self._sweeping = False
        self._closed = False
        self._name = name
        # Started on the first run: an app that never serves a script holds no threads.
        self._threads: list[threading.Thread] = []

    async def run(self, fn: Callable[..., T], *args: Any, wait: float, timeout: float) -> T:
        """Run ``fn(*args)`` on a pool thread.

        Raises:
            PoolBusy: the queue is full, or no thread was free within ``wait`` seconds.
            TimeoutError: no result within ``wait + timeout`` seconds (the thread
                keeps running until the call returns).
        """
        if self._closed:
            raise PoolBusy("script pool is shut down")
        if self.pending >= self.max_pending:
            raise PoolBusy("too many script runs are queued")
        if not self._threads:
            self._start()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        job = _Job(loop, waiter, fn, args, wait, timeout)
        self.pending += 1
        self._inflight.add(job)
        if not self._sweeping:
            self._sweeping = True
            loop.call_later(SWEEP_INTERVAL, self._sweep, loop)
        self._submit(job)
        return await waiter

    def _submit(self, job: _Job) -> None:
        """Hand ``job`` to whatever runs it (here: the threads' shared queue)."""
        self._jobs.put(job)

    # ------------------------------------------------------------------ pool threads

    def _start(self) -> None:
        self._threads = [
            threading.Thread(target=self._work, name=f"{self._name}_{i}", daemon=True)
            for i in range(self.size)
        ]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                if self._on_exit is not None:
                    try:
                        self._on_exit()
                    except Exception:
                        log.warning("script thread: exit hook failed", exc_info=True)
                return
            if time.monotonic() - job.queued_at > job.wait:
                job.error = PoolBusy("every script thread was busy")
            else:
                try:
                    job.result = job.fn(*job.args)
                except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request
                    job.error = exc
            self._finish(job)

    def _finish(self, job: _Job) -> None:
        """Hand a settled ``job`` (result or error set) back to the loop that awaits it."""
        self._finished.append(job)
        # One wake-up drains every run finished until the loop gets to it.
        if not self._wake_scheduled:
            self._wake_scheduled = True
            try:
                job.loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # the loop is closed (shutdown): nobody waits
                self._wake_scheduled = False

    # ------------------------------------------------------------------ loop side

    def _drain(self) -> None:
        # Cleared before draining: a run finishing meanwhile schedules another drain.
        self._wake_scheduled = False
        finished = self._finished
        loop = asyncio.get_running_loop()
        while finished:
            job = finished.popleft()
            if job.loop is not loop:
                # A run submitted from another loop is settled on its own loop.
                job.loop.call_soon_threadsafe(self._settle, job)
            else:
                self._settle(job)

    def _settle(self, job: _Job) -> None:
        self.pending -= 1
        self._inflight.discard(job)
        waiter = job.waiter
        if not waiter.done():
            if job.error is not None:
                waiter.set_exception(job.error)
            else:
                waiter.set_result(job.result)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.monotonic()
        for job in [j for j in self._inflight if j.hard_deadline < now]:
            self._inflight.discard(job)
            if not job.waiter.done():
                job.waiter.set_exception(TimeoutError("script run timed out"))
        if self._inflight and not self._closed:
            loop.call_later(SWEEP_INTERVAL, self._sweep, loop)
        else:
            self._sweeping = False

    def shutdown(self) -> None:
        """Stop accepting runs; running ones finish on their own deadlines."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._jobs.put(None)
