"""Runtime representation of Rhai values (the contract between compiler and library).

=========  ==========================  =========================================
Rhai       Python                      note
=========  ==========================  =========================================
INT        ``int``                     never ``bool``: test with ``type(x) is int``
FLOAT      ``float``
bool       ``bool``
string     ``str``                     immutable; "mutating" methods write back
char       ``Char`` (``str`` subclass)  exactly one code point
()         ``None``
array      ``list``                    a value: copied on assignment
map        ``dict[str, Any]``          a value; Rhai orders keys (BTreeMap)
Blob       ``bytearray``
timestamp  ``Timestamp``
range      ``RhaiRange``               ``a..b`` / ``a..=b``
Fn         ``FnPtr``
host type  any other object            named through the engine's registry
=========  ==========================  =========================================
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["Char", "RhaiRange", "FnPtr", "Timestamp"]


class Char(str):
    """A Rhai ``char``: a one-code-point string that is a distinct type."""

    __slots__ = ()


class RhaiRange:
    """An integer range ``start..end`` (exclusive) or ``start..=end`` (inclusive)."""

    __slots__ = ("start", "end", "inclusive")

    def __init__(self, start: int, end: int, inclusive: bool = False) -> None:
        self.start = start
        self.end = end
        self.inclusive = inclusive

    @property
    def stop(self) -> int:
        """The exclusive upper bound as Python counts it."""
        return self.end + 1 if self.inclusive else self.end

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RhaiRange)
            and self.start == other.start
            and self.end == other.end
            and self.inclusive == other.inclusive
        )

    def __hash__(self) -> int:
        return hash((self.start, self.end, self.inclusive))

    def __repr__(self) -> str:
        return f"{self.start}..{'=' if self.inclusive else ''}{self.end}"


class FnPtr:
    """A function pointer: a function name, curried arguments and, for closures,
    the compiled function object the compiler attaches (opaque to the library)."""

    __slots__ = ("name", "curry", "fn")

    def __init__(self, name: str, curry: tuple[Any, ...] = (), fn: Any = None) -> None:
        self.name = name
        self.curry = curry
        self.fn = fn

    def __repr__(self) -> str:
        return f"Fn({self.name})"


class Timestamp:
    """A monotonic instant (Rhai's ``timestamp``), in seconds as a float."""

    __slots__ = ("t",)

    def __init__(self, t: float | None = None) -> None:
        self.t = time.monotonic() if t is None else t

    def __repr__(self) -> str:
        return "<timestamp>"
