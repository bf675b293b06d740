"""Sandbox policy: named limits and overridable checks, in the manner of Jinja's sandbox.

The interpreter is sandboxed by construction — generated code reaches Python
only through the helper table, properties resolve only to map keys or
registered getters, and no script text ever becomes Python source. This class
holds what is left: the hard ceilings applied on top of ``EngineOptions``
and the process-level preparation (recursion limit) a run needs.
"""

from __future__ import annotations

import sys

from picloud.rhai.errors import ErrorParsing
from picloud.rhai.options import EngineOptions

__all__ = ["SandboxPolicy"]


class SandboxPolicy:
    """Limits and checks applied by every engine; subclass to tighten them."""

    #: Largest script source accepted, in characters.
    MAX_SOURCE_CHARS = 4_000_000
    #: Python frames allowed per Rhai call level (helpers and natives add frames).
    FRAMES_PER_CALL_LEVEL = 12
    #: Python recursion limit floor; also the ceiling we will not go above.
    MIN_RECURSION_LIMIT = 3_000
    MAX_RECURSION_LIMIT = 40_000

    def check_source(self, source: str, options: EngineOptions) -> None:
        """Reject a script before parsing (size only; syntax limits are the parser's)."""
        if len(source) > self.MAX_SOURCE_CHARS:
            raise ErrorParsing("LiteralTooLarge", "Script is too large")

    def prepare_interpreter(self, options: EngineOptions) -> None:
        """Raise Python's recursion limit so ``max_call_levels`` is reached before it."""
        need = self.MIN_RECURSION_LIMIT + options.max_call_levels * self.FRAMES_PER_CALL_LEVEL
        need = min(need, self.MAX_RECURSION_LIMIT)
        if sys.getrecursionlimit() < need:
            sys.setrecursionlimit(need)
