"""Engine options and limits, named exactly as Rhai's ``Engine`` setters name them.

Defaults are Rhai's *release* build (what a server runs): call depth 64,
expression depth 64 / 32 inside functions. ``0`` means unlimited for the
size limits and ``max_operations``, as in Rhai.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

__all__ = ["EngineOptions"]


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Per-engine options; an engine copies them at construction."""

    max_operations: int = 0
    """Evaluation steps before ``ErrorTooManyOperations`` (0 = unlimited)."""
    max_call_levels: int = 64
    """Function-call depth before ``ErrorStackOverflow``."""
    max_expr_depth: int = 64
    """Parse-time nesting at global level before ``ExprTooDeep`` (0 = unlimited)."""
    max_function_expr_depth: int = 32
    """Parse-time nesting inside function bodies before ``ExprTooDeep`` (0 = unlimited)."""
    max_string_size: int = 0
    """Largest string in bytes (UTF-8) (0 = unlimited)."""
    max_array_size: int = 0
    """Largest array, counting nested arrays (0 = unlimited)."""
    max_map_size: int = 0
    """Largest object map, counting nested maps (0 = unlimited)."""
    max_variables: int = 0
    """Variables in one scope; function parameters count (0 = unlimited)."""
    max_functions: int | None = None
    """Script functions allowed (``None`` = unlimited, 0 = none allowed)."""
    max_modules: int = 0
    """Imports per run (0 = unlimited)."""
    strict_variables: bool = False
    """Undeclared variables become parse errors."""
    allow_if_expression: bool = True
    allow_switch_expression: bool = True
    allow_statement_expression: bool = True
    allow_anonymous_fn: bool = True
    allow_looping: bool = True
    allow_loop_expressions: bool = True
    allow_shadowing: bool = True
    fail_on_invalid_map_property: bool = False
    """Reading a missing map property raises ``ErrorPropertyNotFound`` instead of giving ``()``."""
    fast_operators: bool = True
    """Built-in operators on built-in types cannot be overridden by script functions."""
    disabled_symbols: frozenset[str] = field(default_factory=frozenset)
    """Keywords and operators switched off (``Reserved`` / ``UnknownOperator`` at parse time)."""
    optimization_level: Literal["None", "Simple", "Full"] = "Simple"
    raw_engine: bool = False
    """An engine without the standard library: only built-in operators."""
    max_run_seconds: float = 0.0
    """Wall-clock budget of one run (0 = unlimited) before ``ErrorTerminated``."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("max_") and value is not None and value < 0:
                raise ValueError(f"{f.name} must be >= 0, got {value!r}")
        if self.optimization_level not in ("None", "Simple", "Full"):
            raise ValueError(
                f"optimization_level must be None, Simple or Full, got {self.optimization_level!r}"
            )
        if not isinstance(self.disabled_symbols, frozenset):
            object.__setattr__(self, "disabled_symbols", frozenset(self.disabled_symbols))

    def with_(self, **changes: Any) -> EngineOptions:
        """A copy with some options changed."""
        return replace(self, **changes)
