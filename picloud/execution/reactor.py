"""Script runs as greenlets on a reactor thread: an SDK call waits on its loop, not in a thread.

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
  runs at once, the rest queued in order and refused past their ``wait``
  budget (``PoolBusy``), a waiter failed past its hard limit.
- A run takes an idle connection of the thread at its first SDK call and
  gives it back when it ends; the thread opens one when none is idle (so at
  most ``size``).
- Each call is bounded by its limit (the run's remaining time) with a timer:
  past it the call's task is cancelled (asyncpg asks the server to cancel the
  statement), the connection is closed once that is acknowledged, and the run
  ends with Rhai's termination error.
- The interpreter's budget check calls :func:`cooperate`: a run that has
  interpreted for :data:`SLICE` seconds without an SDK call lets the other
  runs go first. A single long native call (a huge sort) cannot be
  interrupted and delays the other runs until it returns; where that matters
  more than speed, ``PICLOUD_SCRIPT_RUNNER=threads`` gives each run a thread.
- A run's greenlet shares its ``contextvars`` context with the task that
  awaits its calls, so ``current_run()`` reads the same inside services.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from greenlet import getcurrent, greenlet

from picloud.execution.connections import BROKEN, close_connection, new_loop
from picloud.execution.pool import PoolBusy, ScriptPool, _Job
from picloud.rhai.errors import ErrorTerminated

__all__ = ["SLICE", "ScriptReactor", "cooperate", "in_reactor_run", "wait_in_run"]

T = TypeVar("T")

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
    """Runs scripts as greenlets on one reactor thread, ``size`` at once.

    Also the sessions of :class:`~picloud.execution.bridge.SdkBridge`:
    ``call(fn, limit)`` awaits ``fn(conn)`` on the calling run's connection.
    """

    def __init__(
        self,
        size: int,
        connect: Callable[[], Awaitable[Any]],
        *,
        max_queued: int | None = None,
        name: str = "picloud-script",
    ) -> None:
        super().__init__(size, max_queued=max_queued, name=name)
        self._connect = connect
        self._reactor: _Reactor | None = None

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
        self._reactor = _Reactor(self, self._name, self.size, self._connect)
        # ScriptPool starts its threads when this list is empty.
        self._threads = [self._reactor.thread]

    def _submit(self, job: _Job) -> None:
        assert self._reactor is not None
        self._reactor.submit(job)

    def shutdown(self) -> None:
        """Stop accepting runs; running ones finish on their own deadlines, then the thread stops."""
        if self._closed:
            return
        self._closed = True
        if self._reactor is not None:
            self._reactor.stop()


class _Reactor:
    """The reactor thread: its loop, its runs, their queue and its idle connections."""

    def __init__(
        self, owner: ScriptReactor, name: str, slots: int, connect: Callable[[], Awaitable[Any]]
    ) -> None:
        self.owner = owner
        self.slots = slots
        self.connect = connect
        self.loop = new_loop()
        #: Runs started here and not yet ended (touched on this thread).
        self.active = 0
        self.queue: deque[_Job] = deque()
        self.idle: list[Any] = []
        #: Connections being closed after a cancelled statement (kept from the GC).
        self.closing: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def submit(self, job: _Job) -> None:
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
        await asyncio.gather(*(close_connection(conn) for conn in conns), *self.closing)
        await asyncio.sleep(0)  # a transport closes on the loop's next turn

    def _stop(self) -> None:
        self.stopping = True
        while self.queue:
            self._refuse(self.queue.popleft(), "script pool is shut down")
        if self.active == 0:
            self.loop.stop()

    def _admit(self, job: _Job) -> None:
        if self.stopping:
            self._refuse(job, "script pool is shut down")
            return
        self.queue.append(job)
        self._fill()

    def _fill(self) -> None:
        """Start queued runs, oldest first, while slots are free; refuse the overdue."""
        while self.queue and self.active < self.slots:
            job = self.queue.popleft()
            if time.monotonic() - job.queued_at > job.wait:
                self._refuse(job, "every script slot was busy")
                continue
            self.active += 1
            context = contextvars.Context()
            self.loop.create_task(self._drive(job, context), context=context)

    def _refuse(self, job: _Job, why: str) -> None:
        job.error = PoolBusy(why)
        self.owner._finish(job)

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
            if not self.stopping:
                self._fill()
            elif self.active == 0:
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
                result = await asked.fn(conn)
            except asyncio.CancelledError:
                raise  # the connection is retired below, not tidied
            except BaseException:
                await _tidy(conn)
                raise
            await _tidy(conn)
            return result
        except asyncio.CancelledError:
            # Past the call's limit (or the loop is going away): the run ends.
            if asked.expired:
                task.uncancel()
            self._retire(run)
            raise ErrorTerminated("Script terminated: run time limit exceeded") from None
        except BROKEN:
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

    def _retire(self, run: _Run) -> None:
        """Close the run's connection once the server has cancelled its statement.

        Cancelling the awaiting task makes asyncpg ask the server to cancel the
        statement, on a connection of its own; terminating at once would drop
        that request, and the server (which does not notice a closed client
        while a statement runs) would finish the statement, writes and all.
        A graceful close waits for the cancel to be acknowledged first.
        """
        conn, run.conn = run.conn, None
        if conn is not None and not conn.is_closed():
            task = self.loop.create_task(close_connection(conn))
            self.closing.add(task)
            task.add_done_callback(self.closing.discard)

    @staticmethod
    def _drop(run: _Run) -> None:
        conn, run.conn = run.conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()


async def _tidy(conn: Any) -> None:
    """Services close their transactions; the next call must not inherit a half-done one."""
    if not conn.is_closed() and conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def _expire(task: asyncio.Task[Any], asked: _Request) -> None:
    asked.expired = True
    task.cancel()
