"""The run in progress on this thread: who runs, what it may import, until when.

Host functions (module resolver, SDK namespaces) receive only their own
arguments, so the executor binds a ``ScriptRun`` around each run; a
``ContextVar`` keeps runs on different pool threads apart.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModuleRef", "ScriptRun", "bind_run", "current_run"]


@dataclass(frozen=True, slots=True)
class ModuleRef:
    """A module script of the app as the request's snapshot saw it."""

    id: str
    version: int


@dataclass(slots=True)
class ScriptRun:
    """One script run: its app, caller, deadline and the modules it may import."""

    app_id: str
    app_slug: str
    script_id: str
    script_name: str
    request_id: str
    #: The authenticated caller (``picloud.auth.principal.Principal``) or None.
    principal: Any
    #: Module name → (id, version) of the calling app's modules, read this request.
    modules: dict[str, ModuleRef]
    #: ``time.monotonic()`` instant the run must end by.
    deadline: float
    #: The SDK bridge to the event loop (``picloud.execution.bridge.SdkBridge``).
    bridge: Any = None
    #: Loads a script record by id (through the bridge); used on module cache misses.
    load_script: Callable[[str], Any] | None = None
    #: Import chains of the modules being loaded right now, innermost last.
    module_chain: list[list[str]] = field(default_factory=list)

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())


_current: ContextVar[ScriptRun | None] = ContextVar("picloud_script_run", default=None)


def current_run() -> ScriptRun | None:
    """The run bound on this thread, if any."""
    return _current.get()


@contextlib.contextmanager
def bind_run(run: ScriptRun) -> Iterator[ScriptRun]:
    """Bind ``run`` for host calls made inside the ``with`` block."""
    token = _current.set(run)
    try:
        yield run
    finally:
        _current.reset(token)
