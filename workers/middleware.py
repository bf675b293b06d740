"""Dramatiq middleware of the PiCloud worker: the process runtime and Dramatiq's give-ups.

``WorkerRuntimeMiddleware`` opens the process's runtime (loop, pool, engine)
when the worker boots and closes it at shutdown. ``DeadLetterOnGiveUp``
covers the paths where Dramatiq itself drops a message into its Redis dead
letter set without the actor recording anything (``throws``, the age limit,
an exception escaping the actor): the job is failed in Postgres like any
other, so it is retried or becomes a dead letter an operator can see.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import dramatiq

from workers.broker import JOB_ACTOR

__all__ = ["DeadLetterOnGiveUp", "WorkerRuntimeMiddleware", "runtime"]

log = logging.getLogger("picloud.worker")

_lock = threading.Lock()
_runtime: Any = None
_settings: Any = None


def runtime() -> Any:
    """The process's :class:`~workers.runtime.WorkerRuntime` (opened on first use)."""
    global _runtime
    if _runtime is None:
        with _lock:
            if _runtime is None:
                from workers.runtime import WorkerRuntime

                settings = _settings
                if settings is None:
                    from picloud.settings import get_settings

                    settings = get_settings()
                _runtime = WorkerRuntime(settings)
    return _runtime


def use_settings(settings: Any) -> None:
    """The settings the runtime is built from (before its first use)."""
    global _settings
    _settings = settings


def close_runtime() -> None:
    """Close the runtime if one was opened."""
    global _runtime
    with _lock:
        rt, _runtime = _runtime, None
    if rt is not None:
        rt.close()


class WorkerRuntimeMiddleware(dramatiq.Middleware):
    """Opens the runtime at worker boot and closes it at shutdown."""

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        """Open the pool before the first message (a broken DATABASE_URL fails fast)."""
        runtime()

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        """Close the pool and loop thread."""
        close_runtime()


class DeadLetterOnGiveUp(dramatiq.Middleware):
    """Records a job Dramatiq gave up on as a failed attempt in Postgres."""

    def after_nack(self, broker: Any, message: Any) -> None:
        """Dramatiq moved the message to its dead-letter set: fail the job in Postgres."""
        if message.actor_name != JOB_ACTOR or not message.args:
            return
        key = str(message.args[0])
        reason = "the worker gave up on the job"
        failure = getattr(message, "_exception", None)
        if failure is not None:
            reason = f"the worker gave up on the job: {type(failure).__name__}: {failure}"
        try:
            from workers.jobs import give_up

            give_up(runtime(), key, reason)
        except Exception:
            log.exception("could not record the give-up of job %s", key)
