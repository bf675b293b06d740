"""The function registry the compiler resolves built-in calls against."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from picloud.rhai.options import EngineOptions
    from picloud.rhai.values import FnPtr

__all__ = ["NOT_BUILTIN", "NO_THIS", "CallContext", "Library", "NativeFn"]


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: ``CallContext.call`` default: call the function pointer without binding ``this``.
NO_THIS: Any = _Sentinel("NO_THIS")
#: Returned by the fast operator functions when no built-in applies (fall back to overloads).
NOT_BUILTIN: Any = _Sentinel("NOT_BUILTIN")


class CallContext(Protocol):
    """What ``needs_ctx`` functions receive from the runtime (implemented by the compiler)."""

    options: EngineOptions

    def call(self, fn: FnPtr, args: list[Any], this: Any = NO_THIS) -> Any:
        """Call a function pointer or closure with ``args`` (curried values go first)."""

    def print(self, text: str) -> None:
        """Send ``print`` output to the host."""

    def debug(self, text: str) -> None:
        """Send ``debug`` output to the host."""


class NativeFn:
    """One native overload: a name, exact parameter types and the Python function."""

    __slots__ = ("fn", "method_only", "mutating", "name", "needs_ctx", "params", "specificity")

    def __init__(
        self,
        name: str,
        params: tuple[type | None, ...],
        fn: Callable[..., Any],
        mutating: bool = False,
        needs_ctx: bool = False,
        method_only: bool = False,
    ) -> None:
        self.name = name
        self.params = params
        self.fn = fn
        self.mutating = mutating
        self.needs_ctx = needs_ctx
        self.method_only = method_only
        self.specificity = sum(p is not None for p in params)

    def matches(self, arg_types: tuple[type, ...]) -> bool:
        """Whether every parameter type is exactly the argument's type (``None`` = any)."""
        for p, a in zip(self.params, arg_types):
            if p is not None and p is not a:
                return False
        return True

    def __repr__(self) -> str:
        ps = ", ".join("?" if p is None else p.__name__ for p in self.params)
        return f"<NativeFn {self.name}({ps})>"


class Library:
    """Overloads by name and arity; resolution is exact-type with wildcard fallback."""

    __slots__ = ("_cache", "_fns")

    def __init__(self) -> None:
        self._fns: dict[tuple[str, int], list[NativeFn]] = {}
        self._cache: dict[tuple[str, tuple[type, ...]], NativeFn | None] = {}

    def register(
        self,
        name: str,
        params: tuple[type | None, ...],
        fn: Callable[..., Any],
        *,
        mutating: bool = False,
        needs_ctx: bool = False,
        method_only: bool = False,
    ) -> None:
        """Add an overload; a later one with identical params replaces the earlier."""
        nf = NativeFn(name, tuple(params), fn, mutating, needs_ctx, method_only)
        bucket = self._fns.setdefault((name, len(params)), [])
        bucket[:] = [f for f in bucket if f.params != nf.params]
        bucket.append(nf)
        self._cache.clear()

    def resolve(self, name: str, arg_types: tuple[type, ...]) -> NativeFn | None:
        """The most specific overload accepting exactly these argument types, or ``None``."""
        key = (name, arg_types)
        try:
            return self._cache[key]
        except KeyError:
            pass
        best: NativeFn | None = None
        for f in self._fns.get((name, len(arg_types)), ()):
            if f.matches(arg_types) and (best is None or f.specificity >= best.specificity):
                best = f
        self._cache[key] = best
        return best

    def has_name(self, name: str, arity: int) -> bool:
        """Whether any overload of this name and arity exists."""
        return (name, arity) in self._fns

    def names(self) -> set[str]:
        """Every registered function name."""
        return {n for n, _ in self._fns}

    def overloads(self, name: str, arity: int) -> list[NativeFn]:
        """The overloads of one name and arity (for error messages and tooling)."""
        return list(self._fns.get((name, arity), ()))

    def merge(self, other: Library) -> Library:
        """A new library with this one's overloads plus ``other``'s (``other`` wins ties)."""
        out = Library()
        for src in (self, other):
            for (name, arity), fns in src._fns.items():
                bucket = out._fns.setdefault((name, arity), [])
                for f in fns:
                    bucket[:] = [g for g in bucket if g.params != f.params]
                    bucket.append(f)
        return out
