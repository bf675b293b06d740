"""Group commit per app: concurrent direct writes of one app share a transaction.

An app's writes are serial by design — each holds the app's append lock from
its first statement through its commit's WAL flush, so that log positions
follow commit order. With one write per transaction an app therefore commits
at most once per flush, however many scripts write at once: its writers take
turns at the disk. This module lets them share the turn. Direct writes of
one app (and one store) that arrive while another is in flight queue up; when
the flight lands, the first queued caller becomes the leader and sends the
whole queue as one statement (``picloud_kv_write`` or ``picloud_docs_write``
once per write, in queue order, in one transaction: one lock, one flush).
Every caller gets its own write's row back once that transaction committed,
so a call still returns only when its write is durable and visible.

A write that finds nothing in flight for its app is sent at once, alone (no
queue entry, no hand-over of its answer); only writes arriving while it is
in flight queue. A queued caller leads only with time to spare
(``LEAD_MIN_SECONDS`` of its script run left): a leader whose run ends
mid-statement would leave its followers not knowing whether their writes
committed. One that has less writes alone and passes the lead on. Should a
batch be interrupted all the same (the process stopping), its followers get
``write_interrupted``.

The writes are applied one after another exactly as they would be alone
(each function call sees the writes before it), so the log and projections
are what serial writes would have left. If the batch statement fails as a
whole (one bad write aborts the transaction), nothing of it was committed and
each write is retried alone, so only the bad one fails. A caller that gave up
(its run timed out) while queued is dropped from the next batch.

Batches form within one process, from any thread: callers pass the
connection they run on (a script thread's session or a pooled one) and the
leader uses its own. Across processes the app lock still serializes batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence
from typing import Any

from picloud.errors import DependencyUnavailable
from picloud.execution.run import current_run
from picloud.execution.sessions import call_remaining

__all__ = ["LEAD_MIN_SECONDS", "MAX_BATCH", "WriteBatches"]

#: Most writes one statement carries; more wait for the next turn.
MAX_BATCH = 64
#: A caller leads a batch only with at least this long left of its script run.
LEAD_MIN_SECONDS = 1.0

_ARRAYS_KV = (
    "$1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[],"
    " $8::text[], $9::text[], $10::text[], $11::bigint[], $12::text[]"
)
_ARRAYS_DOCS = _ARRAYS_KV.replace("$3::text[]", "$3::uuid[]")
_COLUMNS = (
    "w(app_id, collection, target, stream, type, schema_version, data, meta, actor,"
    " correlation_id, causation_position, idempotency_key, ord)"
)
_CALL_ARGS = (
    "w.app_id, w.collection, w.target, w.stream, w.type, w.schema_version, w.data, w.meta,"
    " w.actor, w.correlation_id, w.causation_position, w.idempotency_key, $13::text[]"
)
#: One statement for a whole batch; the function runs once per write, in queue order.
BATCH_SQL: dict[str, str] = {
    "kv": "SELECT r.o_status, r.o_position, r.o_version, r.o_recorded_at"
    f" FROM unnest({_ARRAYS_KV}) WITH ORDINALITY AS {_COLUMNS}"
    f" CROSS JOIN LATERAL picloud_kv_write({_CALL_ARGS}) r ORDER BY w.ord",
    "docs": "SELECT r.o_status, r.o_position, r.o_version, r.o_recorded_at, r.o_created_at"
    f" FROM unnest({_ARRAYS_DOCS}) WITH ORDINALITY AS {_COLUMNS}"
    f" CROSS JOIN LATERAL picloud_docs_write({_CALL_ARGS}) r ORDER BY w.ord",
}
#: The same for one write alone.
SINGLE_SQL: dict[str, str] = {
    "kv": "SELECT o_status, o_position, o_version, o_recorded_at FROM picloud_kv_write("
    "$1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    "docs": "SELECT o_status, o_position, o_version, o_recorded_at, o_created_at"
    " FROM picloud_docs_write($1::uuid, $2, $3::uuid, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
    " $13)",
}

_LEAD = object()
_GAVE_UP = (None, None)


class _Write:
    """One caller's write: its arguments and where its answer goes.

    A caller whose loop runs (an asyncpg session, the serving loop) waits on a
    future of that loop. A caller stepped on a script thread without its loop
    running (:mod:`picloud.execution.sessions` with blocking connections)
    blocks its thread on an event instead: running the loop just to be woken
    would cost more than the write.
    """

    __slots__ = ("answer", "args", "event", "future", "loop")

    def __init__(self, args: Sequence[Any], loop: asyncio.AbstractEventLoop) -> None:
        #: The function's first twelve arguments (the trigger kinds are per queue).
        self.args = args
        self.loop = loop
        self.future: asyncio.Future[Any] | None = None
        self.event: threading.Event | None = None
        #: ``(result, error)`` once settled (thread waits), and ``_GAVE_UP`` after giving up.
        self.answer: Any = None
        self.reset()

    def reset(self) -> None:
        """Wait afresh (a caller that took the lead waits for its own row next)."""
        if self.loop.is_running():
            self.future = self.loop.create_future()
        else:
            self.event = threading.Event()
            self.answer = None

    def done(self) -> bool:
        """Answered already, or the caller gave up."""
        if self.future is not None:
            return self.future.done()
        return self.answer is not None

    async def wait(self) -> Any:
        """The answer (or its error), once settled; ``TimeoutError`` past the run's limit."""
        if self.future is not None:
            return await self.future
        assert self.event is not None
        # Only a call stepped by a session waits this way, so its limit is the call's.
        if not self.event.wait(call_remaining()):
            self.answer = _GAVE_UP
            raise TimeoutError("the run's time ran out while its write was queued")
        result, error = self.answer
        if error is not None:
            raise error
        return result

    def settle(self, result: Any, error: BaseException | None = None) -> None:
        """Hand the answer (or the error, or the lead) to the caller, on its own loop."""
        if self.future is None:
            if self.answer is None:  # else: the caller gave up
                self.answer = (result, error)
                assert self.event is not None
                self.event.set()
            return
        future = self.future

        def deliver() -> None:
            if future.done():  # the caller gave up
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        try:
            if asyncio.get_running_loop() is self.loop:
                deliver()  # our own loop (the leader's own write): no wake-up needed
                return
        except RuntimeError:  # no loop runs on this thread
            pass
        try:
            self.loop.call_soon_threadsafe(deliver)
        except RuntimeError:  # its loop is closed: nobody waits
            pass


class _Queue:
    """Writes of one key waiting while a write or batch of it is in flight.

    A queue exists exactly while something of its key is in flight; the one in
    flight hands over (to the first waiting, or by removing the queue) when it lands.
    """

    __slots__ = ("heir", "waiting")

    def __init__(self) -> None:
        self.waiting: list[_Write] = []
        #: The caller the lead was handed to and that has not taken it up yet.
        self.heir: _Write | None = None


class WriteBatches:
    """Per (store, app, trigger kinds) queues of direct writes; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[tuple[str, str, tuple[str, ...]], _Queue] = {}

    def waiting(self, store: str, app_id: str) -> int:
        """How many writes of the app wait for the batch in flight (for tests and metrics)."""
        with self._lock:
            return sum(
                len(queue.waiting)
                for (kind, app, _), queue in self._queues.items()
                if kind == store and app == app_id
            )

    async def write(
        self, conn: Any, store: str, args: Sequence[Any], trigger_kinds: list[str]
    ) -> Any:
        """The function's row for this write, once its transaction committed."""
        if conn.is_in_transaction():
            # Inside a caller's transaction: it commits, not us.
            return await conn.fetchrow(SINGLE_SQL[store], *args, trigger_kinds)
        key = (store, str(args[0]), tuple(trigger_kinds))
        with self._lock:
            queue = self._queues.get(key)
            if queue is None:
                # Nothing in flight: write alone; writes arriving meanwhile queue up.
                queue = self._queues[key] = _Queue()
                me = None
            else:
                me = _Write(args, asyncio.get_running_loop())
                queue.waiting.append(me)
        if me is None:
            try:
                return await conn.fetchrow(SINGLE_SQL[store], *args, trigger_kinds)
            finally:
                self._hand_over(key, queue)
        try:
            answer = await me.wait()
        except BaseException:
            self._give_up(key, queue, me)
            raise
        if answer is not _LEAD:
            return answer
        # Our turn to lead: wait afresh for our own row (still first in the queue).
        with self._lock:
            queue.heir = None
        me.reset()
        run = current_run()
        if run is not None and run.remaining() < LEAD_MIN_SECONDS:
            # Too little time to carry others' writes: write alone, then hand over.
            with self._lock:
                queue.waiting.remove(me)
            try:
                return await conn.fetchrow(SINGLE_SQL[store], *args, trigger_kinds)
            finally:
                self._hand_over(key, queue)
        await self._lead(conn, key, queue, trigger_kinds)
        return await me.wait()

    async def _lead(
        self, conn: Any, key: tuple[str, str, tuple[str, ...]], queue: _Queue, kinds: list[str]
    ) -> None:
        """Send the queue (up to MAX_BATCH) as one statement, then hand the lead on."""
        with self._lock:
            batch = [w for w in queue.waiting[:MAX_BATCH] if not w.done()]
            del queue.waiting[:MAX_BATCH]
        try:
            await self._run(conn, key[0], batch, kinds)
        except BaseException:
            interrupted = DependencyUnavailable(
                "the write was interrupted; whether it was stored is unknown",
                code="write_interrupted",
            )
            for write in batch:
                write.settle(None, interrupted)
            raise
        finally:
            self._hand_over(key, queue)

    def _hand_over(self, key: tuple[str, str, tuple[str, ...]], queue: _Queue) -> None:
        """The first caller still waiting leads next; with none, the queue goes."""
        with self._lock:
            queue.waiting = [w for w in queue.waiting if not w.done()]
            if queue.waiting:
                queue.heir = queue.waiting[0]
                queue.heir.settle(_LEAD)
            else:
                queue.heir = None
                del self._queues[key]

    def _give_up(self, key: tuple[str, str, tuple[str, ...]], queue: _Queue, me: _Write) -> None:
        """A queued caller stops waiting (its run ended); a lead handed to it passes on."""
        with self._lock:
            if me in queue.waiting:
                queue.waiting.remove(me)
            inherited = queue.heir is me
        if inherited:
            self._hand_over(key, queue)

    @staticmethod
    async def _run(conn: Any, store: str, batch: list[_Write], kinds: list[str]) -> None:
        rows = None
        if len(batch) > 1:
            columns = [list(column) for column in zip(*(w.args for w in batch), strict=True)]
            # If the batch fails, nothing committed: each write alone finds the culprit.
            with contextlib.suppress(Exception):
                rows = await conn.fetch(BATCH_SQL[store], *columns, kinds)
        if rows is not None:
            for write, row in zip(batch, rows, strict=True):
                write.settle(row)
            return
        for write in batch:
            try:
                write.settle(await conn.fetchrow(SINGLE_SQL[store], *write.args, kinds))
            except Exception as exc:  # noqa: BLE001 - raised to its own caller
                write.settle(None, exc)
