"""Who is running: the app, script and request a standard-library call belongs to.

Static-module host functions receive only their arguments (the interpreter
does not pass its call context to them), so the executor binds the current
``SdkContext`` around a run with ``use_context``. A ``ContextVar`` keeps runs
on different worker threads (or tasks) apart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["ANONYMOUS", "SdkContext", "current_context", "use_context"]


@dataclass(frozen=True, slots=True)
class SdkContext:
    """Identity of one script run, attached to its log lines."""

    app_id: str = ""
    """The app's id (empty outside an app, e.g. ``picloud rhai run``)."""
    app_slug: str = ""
    """The app's slug, for humans reading the server log."""
    script_id: str = ""
    """The running script's id; log lines are kept per script id."""
    script_name: str = ""
    """The running script's name."""
    request_id: str = ""
    """The HTTP request id (or trigger delivery id) that started the run."""


#: The context of code that never bound one (tests, the CLI).
ANONYMOUS = SdkContext()

_current: ContextVar[SdkContext] = ContextVar("picloud_sdk_context", default=ANONYMOUS)


def current_context() -> SdkContext:
    """The context bound by the innermost ``use_context``, else ``ANONYMOUS``."""
    return _current.get()


@contextlib.contextmanager
def use_context(ctx: SdkContext) -> Iterator[SdkContext]:
    """Bind ``ctx`` for standard-library calls made inside the ``with`` block."""
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
