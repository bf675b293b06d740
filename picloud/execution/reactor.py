"""Script runs as greenlets on reactor threads: an SDK call waits on the loop, not in a thread.

:class:`~picloud.execution.pool.ScriptPool` gives every run a thread, so a
run waiting for Postgres holds a thread, and with eight of them the threads
spend more time handing the GIL to each other than interpreting: measured
with the KV benchmark's script (bench/kv_docs.py), a set+get pair cost 170 µs
of Python CPU on one thread and 300 µs once two or more threads shared the
work. Here many runs share one thread. Each run is a greenlet driven by a
task on the thread's event loop; an SDK call switches from the run to its
task, which awaits the service on the run's asyncpg connection while the
loop serves the other runs, and switches back with the answer (or throws
the error in). The script is still plain synchronous code; only the thread
under it changes.

- Admission is :class:`ScriptPool`'s (its ``run`` and its limits): ``size``
  runs at once in all, queued runs dropped past their ``wait`` budget
  (``PoolBusy``), a waiter failed past its hard limit.
- A run takes a connection from its thread's idle list at its first SDK
  call and gives it back when it ends; the thread opens one when none is
  idle (at most ``size`` per thread).
- Each call is bounded by its limit (the run's remaining time) with a timer:
  past it the call's task is cancelled, the connection is closed (a cancelled
  statement may still be on its way to the server) and the run ends with
  Rhai's termination error.
- The interpreter's budget check calls :func:`cooperate`: a run that has
  interpreted for :data:`SLICE` seconds without an SDK call lets the other
  runs of its thread go first. A single long native call (a huge sort)
  cannot be interrupted; it delays the other runs of its thread, and only
  those, which is why there can be more than one thread.
- A run's greenlet shares its ``contextvars`` context with the task that
  awaits its calls, so ``current_run()`` reads the same inside services.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from greenlet import getcurrent, greenlet

from picloud.execution.pool import PoolBusy, ScriptPool, _Job
from picloud.execution.sessions import _BROKEN, _close, _new_loop
from picloud.rhai.errors import ErrorTerminated

__all__ = ["SLICE", "ScriptReactor", "cooperate", "in_reactor_run", "wait_in_run"]

T = TypeVar("T")

log = logging.getLogger("picloud.execution")

#: Interpreting time (seconds) after which a run lets its thread's other runs go first.
SLICE = 0.005


class _Request:
    """What a run asks of its task: a service call on its connection, or another awaitable."""

    __slots__ = ("expired", "fn", "limit", "make")

    def __init__(
        self,
        limit: float,
        fn: Callable[[Any], Awaitable[Any]] | None = None,
        make: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.limit = limit
        self.fn = fn
        self.make = make
        self.expired = False


#: A run asking to let the others go first (:func:`cooperate`).
_YIELD = object()


class _Run(greenlet):  # type: ignore[misc]  # greenlet ships no type for subclassing
    """One script run's greenlet; knows its reactor thread and holds its connection."""

    def __init__(self, fn: Callable[..., Any], parent: greenlet, home: _Reactor) -> None:
        super().__init__(fn, parent)
        self.home = home
        self.conn: Any = None
        #: ``time.monotonic()`` when the run last got the thread.
        self.resumed_at = 0.0


def in_reactor_run() -> bool:
    """Whether the caller is a script run on a reactor thread."""
    return type(getcurrent()) is _Run


def cooperate() -> None:
    """Let the thread's other runs go first if this one has interpreted for a slice.

    The engine's budget hook (``Engine.on_budget``); a no-op outside a reactor run.
    """
    run = getcurrent()
    if type(run) is _Run and time.monotonic() - run.resumed_at >= SLICE:
        run.parent.switch(_YIELD)


def wait_in_run(make: Callable[[], Awaitable[T]], limit: float) -> T:
    """Await ``make()`` on the run's loop from a reactor run, within ``limit`` seconds.

    Raises:
        ErrorTerminated: past ``limit`` (the awaitable is cancelled).
    """
    run = getcurrent()
    if type(run) is not _Run:
        raise RuntimeError("wait_in_run: not called from a reactor run")
    result: T = run.parent.switch(_Request(limit, make=make))
    return result


class ScriptReactor(ScriptPool):
    """Runs scripts as greenlets on ``threads`` reactor threads, ``size`` at once in all.

    Also the sessions of :class:`~picloud.execution.bridge.SdkBridge`:
    ``call(fn, limit)`` awaits ``fn(conn)`` on the calling run's connection.
    """

    def __init__(
        self,
        size: int,
        connect: Callable[[], Awaitable[Any]],
        *,
        threads: int = 1,
        max_queued: int | None = None,
        name: str = "picloud-script",
    ) -> None:
        super().__init__(size, max_queued=max_queued, name=name)
        self._connect = connect
        self._reactor_count = max(1, min(threads, size))
        self._reactors: list[_Reactor] = []

    # ------------------------------------------------------------------ sessions

    def call(self, fn: Callable[[Any], Awaitable[T]], limit: float) -> T:
        """``await fn(conn)`` on the calling run's connection, within ``limit`` seconds.

        Raises:
            ErrorTerminated: past ``limit`` (the call is cancelled, the connection closed).
            RuntimeError: not called from a reactor run.
        """
        run = getcurrent()
        if type(run) is not _Run:
            raise RuntimeError("ScriptReactor.call: not called from a reactor run")
        result: T = run.parent.switch(_Request(limit, fn=fn))
        return result

    # ------------------------------------------------------------------ ScriptPool hooks

    def _start(self) -> None:
        per = -(-self.size // self._reactor_count)
        self._reactors = [
            _Reactor(self, f"{self._name}_{i}", per, self._connect)
            for i in range(self._reactor_count)
        ]
        # ScriptPool starts its threads when this list is empty.
        self._threads = [r.thread for r in self._reactors]

    def _submit(self, job: _Job) -> None:
        # The least busy thread; the counts are read unlocked (a hint is enough).
        reactor = min(self._reactors, key=_Reactor.load)
        reactor.submit(job)

    def shutdown(self) -> None:
        """Stop accepting runs; running ones finish on their own deadlines, then threads stop."""
        if self._closed:
            return
        self._closed = True
        for reactor in self._reactors:
            reactor.stop()


class _Reactor:
    """One reactor thread: its loop, its runs and its idle connections."""

    def __init__(
        self, owner: ScriptReactor, name: str, slots: int, connect: Callable[[], Awaitable[Any]]
    ) -> None:
        self.owner = owner
        self.slots = slots
        self.connect = connect
        self.loop = _new_loop()
        #: Runs started here and not yet ended (touched on this thread).
        self.active = 0
        #: Submitted, not yet counted in (touched on the submitting loop's thread).
        self.submitted = 0
        self.queue: deque[_Job] = deque()
        self.idle: list[Any] = []
        self.stopping = False
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def load(self) -> int:
        return self.active + self.submitted

    def submit(self, job: _Job) -> None:
        self.submitted += 1
        self.loop.call_soon_threadsafe(self._admit, job)

    def stop(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._stop)
        except RuntimeError:  # already closed
            pass

    # ------------------------------------------------------------------ on the thread

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
            self.loop.run_until_complete(self._close_idle())
        finally:
            self.loop.close()

    async def _close_idle(self) -> None:
        conns, self.idle = self.idle, []
        await asyncio.gather(*(_close(conn) for conn in conns))
        await asyncio.sleep(0)  # a transport closes on the loop's next turn

    def _stop(self) -> None:
        self.stopping = True
        while self.queue:
            job = self.queue.popleft()
            job.error = PoolBusy("script pool is shut down")
            self.owner._finish(job)
        if self.active == 0:
            self.loop.stop()

    def _admit(self, job: _Job) -> None:
        self.submitted -= 1
        if self.stopping:
            job.error = PoolBusy("script pool is shut down")
            self.owner._finish(job)
        elif self.active < self.slots:
            self._begin(job)
        else:
            self.queue.append(job)

    def _begin(self, job: _Job) -> None:
        if time.monotonic() - job.queued_at > job.wait:
            job.error = PoolBusy("every script thread was busy")
            self.owner._finish(job)
            return
        self.active += 1
        context = contextvars.Context()
        self.loop.create_task(self._drive(job, context), context=context)

    async def _drive(self, job: _Job, context: contextvars.Context) -> None:
        run = _Run(job.fn, getcurrent(), self)
        # Services awaited by this task see what the script bound (current_run()).
        run.gr_context = context
        try:
            job.result = await self._steer(run, job.args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request
            job.error = exc
        finally:
            self._give_back(run)
            self.active -= 1
            self.owner._finish(job)
            if self.queue and not self.stopping:
                self._begin(self.queue.popleft())
            elif self.stopping and self.active == 0:
                self.loop.stop()

    async def _steer(self, run: _Run, args: tuple[Any, ...]) -> Any:
        """Switch into ``run`` until it ends, serving each request it switches out with."""
        run.resumed_at = time.monotonic()
        asked = run.switch(*args)
        while not run.dead:
            try:
                answer = await self._serve(run, asked)
            except BaseException as exc:  # noqa: BLE001 - raised in the run, where the call was
                run.resumed_at = time.monotonic()
                asked = run.throw(type(exc), exc, exc.__traceback__)
            else:
                run.resumed_at = time.monotonic()
                asked = run.switch(answer)
        return asked

    async def _serve(self, run: _Run, asked: Any) -> Any:
        if asked is _YIELD:
            await asyncio.sleep(0)
            return None
        if type(asked) is not _Request:
            raise RuntimeError(f"a script run switched out with {asked!r}")
        task = asyncio.current_task()
        assert task is not None
        timer = self.loop.call_later(max(asked.limit, 0.0), _expire, task, asked)
        try:
            if asked.fn is None:
                assert asked.make is not None
                return await asked.make()
            conn = run.conn
            if conn is None or conn.is_closed():
                conn = run.conn = await self._take()
            try:
                return await asked.fn(conn)
            finally:
                if not conn.is_closed() and conn.is_in_transaction():
                    # Services close their transactions; the next call must not
                    # inherit a half-done one.
                    await conn.execute("ROLLBACK")
        except asyncio.CancelledError:
            # Past the call's limit (or the loop is going away): the run ends, and
            # a statement cancelled half-way leaves the connection untrusted.
            if asked.expired:
                task.uncancel()
            self._drop(run)
            raise ErrorTerminated("Script terminated: run time limit exceeded") from None
        except _BROKEN:
            self._drop(run)
            raise
        finally:
            timer.cancel()

    async def _take(self) -> Any:
        while self.idle:
            conn = self.idle.pop()
            if not conn.is_closed():
                return conn
        return await self.connect()

    def _give_back(self, run: _Run) -> None:
        conn, run.conn = run.conn, None
        if conn is not None and not conn.is_closed():
            self.idle.append(conn)

    @staticmethod
    def _drop(run: _Run) -> None:
        conn, run.conn = run.conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()


def _expire(task: asyncio.Task[Any], asked: _Request) -> None:
    asked.expired = True
    task.cancel()
