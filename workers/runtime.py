"""A worker process's shared pieces: event loop thread, Postgres pool, engine, caches.

Dramatiq runs actors on plain threads. Services are asyncio code, so the
process keeps one event loop on its own thread with one asyncpg pool; actor
threads hand it coroutines (``call``) and scripts reach it through the same
SDK bridge the API uses. While a job's handler runs, :class:`JobBridge` also
binds the job's scope on the loop, so everything the handler appends carries
the job's causation, trigger depth and an idempotency key
(:func:`job_meta`): a job run twice cannot append twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from picloud.events.store import DuplicateAppend, add_meta_hook
from picloud.events.types import EventMeta
from picloud.execution.bridge import SdkBridge
from picloud.execution.cache import CompiledScript, LruCache
from picloud.execution.engine import build_engine
from picloud.execution.resolver import AppModuleResolver, TrackedModule, module_shape_problem

__all__ = ["JobBridge", "JobScope", "WorkerRuntime", "job_meta"]

T = TypeVar("T")

#: Seconds between forced GIL hand-offs in a worker process (Python's default is 0.005).
SWITCH_INTERVAL = 0.001


@dataclass(slots=True)
class JobScope:
    """The job whose handler is running: what its appends must carry."""

    dedupe_key: str
    depth: int
    causation_position: int | None
    correlation_id: str | None
    actor: str
    appends: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_key(self, stream: str) -> str:
        """The idempotency key of the handler's next append to ``stream``.

        Numbered per stream, so a re-run that takes another path through the
        script (it reads what the first run wrote) still lines its writes up
        with the first run's: the n-th write of a key is the same write.
        """
        with self.lock:
            n = self.appends[stream] = self.appends.get(stream, 0) + 1
        key = f"{self.dedupe_key}#{stream}#{n}"
        # Keys are at most 256 characters (EventMeta); long stream names are hashed.
        if len(key) > 256:
            import hashlib

            digest = hashlib.sha256(f"{stream}#{n}".encode()).hexdigest()
            key = f"{self.dedupe_key}#{digest}"
        return key


_scope: ContextVar[JobScope | None] = ContextVar("picloud_job_scope", default=None)


def job_meta(meta: EventMeta, stream: str) -> EventMeta:
    """Meta hook: a running job's appends carry its causation, depth and idempotency key."""
    scope = _scope.get()
    if scope is None or meta.idempotency_key is not None:
        return meta
    return msgspec.structs.replace(
        meta,
        correlation_id=meta.correlation_id or scope.correlation_id,
        causation_position=scope.causation_position,
        trigger_depth=scope.depth,
        idempotency_key=scope.next_key(stream),
    )


add_meta_hook(job_meta)


class JobBridge(SdkBridge):
    """The SDK bridge of a job: binds the job's scope; an append made by an earlier run is skipped."""

    def with_conn(self, fn: Callable[[Any], Awaitable[T]], timeout: float | None = None) -> T:
        """``await fn(conn)`` on the loop under the calling thread's job scope."""
        scope = _scope.get()

        async def _run() -> Any:
            token = _scope.set(scope)
            try:
                async with self.pool.acquire() as conn:
                    return await fn(conn)
            except DuplicateAppend:
                # This run repeats one that already committed this write
                # (a killed worker, a redelivered message): it happened once.
                return None
            finally:
                _scope.reset(token)

        return self.call(_run(), timeout)  # type: ignore[no-any-return]


def bind_scope(scope: JobScope | None) -> Any:
    """Set the job scope on the calling (actor) thread; returns the reset token."""
    return _scope.set(scope)


def reset_scope(token: Any) -> None:
    """Undo :func:`bind_scope`."""
    _scope.reset(token)


class WorkerRuntime:
    """Loop thread + pool + engine of one worker process (started once, closed at shutdown)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        # Every database step of every actor thread is a hop to the loop
        # thread and back; with Python's default 5 ms switch interval a busy
        # thread holds the GIL long enough to stall those hops (a convoy).
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="picloud-worker-loop", daemon=True)
        self._thread.start()
        self.pool: Any = None
        self.jobs_pool: Any = None
        self.scripts: LruCache[CompiledScript] = LruCache(settings.script_cache_size)
        self.modules: LruCache[TrackedModule] = LruCache(settings.module_cache_size)
        self.resolver = AppModuleResolver(
            self.modules, settings.module_import_depth_max, module_shape_problem
        )
        self.engine = build_engine(settings, self.resolver)
        self.pool = self.call(self._open_pool())
        self.jobs_pool = self.call(self._open_pool(bookkeeping=True))
        self.bridge = JobBridge(self.loop, self.pool)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def _open_pool(self, bookkeeping: bool = False) -> Any:
        from picloud.db import create_pool, server_settings

        if not bookkeeping:
            return await create_pool(self.settings)
        # Claims and successes of jobs commit without waiting for the WAL flush.
        # Losing one in a database crash only means the job runs again, which
        # its idempotency keys make harmless; and WAL order keeps a recorded
        # success behind the handler's own (synchronous) writes.
        settings = {**server_settings(self.settings), "synchronous_commit": "off"}
        return await create_pool(self.settings, min_size=1, max_size=8, server_settings=settings)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coro`` on the runtime's loop from another thread and wait for it."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise

    def close(self) -> None:
        """Close the pools and stop the loop thread."""
        jobs_pool, self.jobs_pool = self.jobs_pool, None
        if jobs_pool is not None:
            try:
                self.call(asyncio.wait_for(jobs_pool.close(), 10), timeout=15)
            except Exception:  # noqa: BLE001 - shutting down anyway
                jobs_pool.terminate()
        if self.pool is not None:
            try:
                self.call(asyncio.wait_for(self.pool.close(), 10), timeout=15)
            except Exception:  # noqa: BLE001 - shutting down anyway
                self.pool.terminate()
            self.pool = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()
