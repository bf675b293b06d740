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
    """Limits and checks applied by every engine; subclass to tighten them.

    ``options()`` gives the limits a platform engine should run with; a bare
    ``EngineOptions()`` keeps Rhai's own defaults (most limits off), which the
    conformance corpus expects but an untrusted script must not get.
    """

    #: Operations one run may take (each statement, expression and loop iteration counts).
    MAX_OPERATIONS = 50_000_000
    #: Wall-clock seconds one run may take.
    MAX_RUN_SECONDS = 10.0
    #: Script-function call depth.
    MAX_CALL_LEVELS = 64
    #: Parse-time expression nesting, at global level and inside functions.
    MAX_EXPR_DEPTH = 64
    MAX_FUNCTION_EXPR_DEPTH = 32
    #: Largest string, in UTF-8 bytes.
    MAX_STRING_SIZE = 16 * 1024 * 1024
    #: Largest array or blob, counting nested arrays.
    MAX_ARRAY_SIZE = 1_000_000
    #: Largest object map, counting nested maps.
    MAX_MAP_SIZE = 100_000
    #: Variables in one scope.
    MAX_VARIABLES = 10_000
    #: Imports per run.
    MAX_MODULES = 100

    #: Largest script source accepted, in characters.
    MAX_SOURCE_CHARS = 4_000_000
    #: Python frames allowed per Rhai call level (helpers and natives add frames).
    FRAMES_PER_CALL_LEVEL = 12
    #: Python recursion limit floor; also the ceiling we will not go above.
    MIN_RECURSION_LIMIT = 3_000
    MAX_RECURSION_LIMIT = 40_000

    def options(self, **overrides: object) -> EngineOptions:
        """``EngineOptions`` with this policy's limits (keyword arguments override them)."""
        base: dict[str, object] = {
            "max_operations": self.MAX_OPERATIONS,
            "max_run_seconds": self.MAX_RUN_SECONDS,
            "max_call_levels": self.MAX_CALL_LEVELS,
            "max_expr_depth": self.MAX_EXPR_DEPTH,
            "max_function_expr_depth": self.MAX_FUNCTION_EXPR_DEPTH,
            "max_string_size": self.MAX_STRING_SIZE,
            "max_array_size": self.MAX_ARRAY_SIZE,
            "max_map_size": self.MAX_MAP_SIZE,
            "max_variables": self.MAX_VARIABLES,
            "max_modules": self.MAX_MODULES,
        }
        base.update(overrides)
        return EngineOptions(**base)  # type: ignore[arg-type]

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
