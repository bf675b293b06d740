"""``log::info/warn/error(value)``, ``log::write(level, value)``: structured server log
plus a per-script ring.

``debug`` is a reserved keyword in Rhai, so ``log::debug(x)`` does not parse;
``log::write("debug", x)`` logs at debug level.

Every line goes to the Python logger ``picloud.script`` with the run's app,
script and request id as record attributes, and into a bounded in-memory ring
per script that the dashboard reads (``ScriptLogs.lines``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from picloud.rhai.values import to_debug, to_display
from picloud.sdk._common import fail, namespace
from picloud.sdk.context import SdkContext, current_context

__all__ = ["LEVELS", "LogLine", "LogSink", "ScriptLogs", "log_members"]

#: Script level name → Python logging level.
LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}

_logger = logging.getLogger("picloud.script")


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a script logged."""

    at_ms: int
    """Wall-clock time, milliseconds since the Unix epoch."""
    level: str
    """``debug``, ``info``, ``warn`` or ``error``."""
    message: str
    """The rendered text (possibly truncated)."""
    request_id: str
    """The request that produced it."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the dashboard shows."""
        return {
            "at_ms": self.at_ms,
            "level": self.level,
            "message": self.message,
            "request_id": self.request_id,
        }


class LogSink(Protocol):
    """Where ``log::`` lines go."""

    def emit(self, ctx: SdkContext, level: str, message: str) -> None:
        """Record one line for the run described by ``ctx``."""


class ScriptLogs:
    """The default sink: Python logging plus the last ``per_script`` lines of each script."""

    #: Longest message kept, in characters; longer ones are cut with a marker.
    MAX_MESSAGE_CHARS = 8192

    def __init__(
        self,
        per_script: int = 100,
        *,
        max_scripts: int = 4096,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if per_script < 1 or max_scripts < 1:
            raise ValueError("per_script and max_scripts must be >= 1")
        self.per_script = per_script
        self.max_scripts = max_scripts
        self.logger = logger if logger is not None else _logger
        self._clock = clock
        self._rings: OrderedDict[str, deque[LogLine]] = OrderedDict()
        self._lock = threading.Lock()

    def emit(self, ctx: SdkContext, level: str, message: str) -> None:
        """Log ``message`` with the run's identity and keep it in the script's ring."""
        if len(message) > self.MAX_MESSAGE_CHARS:
            message = message[: self.MAX_MESSAGE_CHARS] + "…[truncated]"
        line = LogLine(int(self._clock() * 1000), level, message, ctx.request_id)
        with self._lock:
            ring = self._rings.get(ctx.script_id)
            if ring is None:
                ring = self._rings[ctx.script_id] = deque(maxlen=self.per_script)
                # Bound memory across many scripts: forget the least recently logging one.
                while len(self._rings) > self.max_scripts:
                    self._rings.popitem(last=False)
            else:
                self._rings.move_to_end(ctx.script_id)
            ring.append(line)
        self.logger.log(
            LEVELS[level],
            "%s",
            message,
            extra={
                "app_id": ctx.app_id,
                "app_slug": ctx.app_slug,
                "script_id": ctx.script_id,
                "script_name": ctx.script_name,
                "request_id": ctx.request_id,
                "script_level": level,
            },
        )

    def lines(self, script_id: str) -> list[LogLine]:
        """The script's kept lines, oldest first."""
        with self._lock:
            ring = self._rings.get(script_id)
            return list(ring) if ring is not None else []

    def clear(self, script_id: str) -> None:
        """Forget a script's lines (e.g. when it is deleted)."""
        with self._lock:
            self._rings.pop(script_id, None)


def log_members(sink: LogSink) -> dict[str, Callable[..., Any]]:
    """The ``log::`` namespace writing to ``sink``."""

    def make(level: str) -> Callable[[Any], None]:
        def write(value: Any) -> None:
            """Log any value, rendered as ``print`` would."""
            sink.emit(current_context(), level, to_display(value))

        return write

    def write(level: Any, value: Any) -> None:
        """Log at a level named at run time (also the way to reach ``debug``, see below)."""
        if not isinstance(level, str) or level not in LEVELS:
            fail("log", f"write expects a level ({', '.join(LEVELS)}), got {to_debug(level)}")
        sink.emit(current_context(), str(level), to_display(value))

    members: dict[str, Callable[..., None]] = {level: make(level) for level in LEVELS}
    # ``debug`` is a reserved keyword in Rhai, so the parser rejects ``log::debug(x)``;
    # ``log::write("debug", x)`` reaches the same level. ``debug`` stays registered in
    # case the parser learns to accept keyword-function names after ``::``.
    members["write"] = write
    return namespace("log", members)
