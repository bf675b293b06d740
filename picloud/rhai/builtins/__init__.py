"""Rhai's built-in operators and standard library as plain Python functions.

``CORE`` holds only the built-in operators (what a ``raw_engine`` has);
``STANDARD`` adds every standard package function. The compiler resolves calls
with ``Library.resolve(name, arg_types)`` and may call the fast operator
functions re-exported here (``add``, ``eq`` …) directly on hot paths.
"""

from __future__ import annotations

from picloud.rhai.builtins.operators import (
    add,
    add_assign,
    bit_and,
    bit_or,
    bit_xor,
    compare,
    contains,
    div,
    eq,
    ge,
    gt,
    le,
    lt,
    mod,
    mul,
    ne,
    neg,
    not_,
    plus,
    pow,
    shl,
    shr,
    sub,
    sub_assign,
)
from picloud.rhai.builtins.registry import NO_THIS, NOT_BUILTIN, CallContext, Library, NativeFn

__all__ = [
    "BINARY_OPS",
    "CORE",
    "NOT_BUILTIN",
    "NO_THIS",
    "STANDARD",
    "UNARY_OPS",
    "CallContext",
    "Library",
    "NativeFn",
    "add",
    "add_assign",
    "bit_and",
    "bit_or",
    "bit_xor",
    "compare",
    "contains",
    "div",
    "eq",
    "ge",
    "gt",
    "le",
    "lt",
    "mod",
    "mul",
    "ne",
    "neg",
    "not_",
    "plus",
    "pow",
    "shl",
    "shr",
    "sub",
    "sub_assign",
]

#: Operator symbol → fast function (each may return ``NOT_BUILTIN``).
BINARY_OPS = {
    "+": add,
    "-": sub,
    "*": mul,
    "/": div,
    "%": mod,
    "**": pow,
    "<<": shl,
    ">>": shr,
    "&": bit_and,
    "|": bit_or,
    "^": bit_xor,
    "==": eq,
    "!=": ne,
    "<": lt,
    "<=": le,
    ">": gt,
    ">=": ge,
}
UNARY_OPS = {"-": neg, "+": plus, "!": not_}


def _build() -> tuple[Library, Library]:
    from picloud.rhai.builtins import operators

    core = Library()
    operators.register(core)
    std = core.merge(Library())
    from picloud.rhai.builtins import _standard

    _standard.register(std)
    return core, std


CORE, STANDARD = _build()
