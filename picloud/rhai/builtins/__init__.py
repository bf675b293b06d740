"""Rhai's built-in operators and standard library as plain Python functions.

``CORE`` holds only the built-in operators (what a ``raw_engine`` has);
``STANDARD`` adds every standard package function. The compiler resolves calls
with ``Library.resolve(name, arg_types)`` (exact ``type()`` match per parameter,
``None`` = any; the most specific overload wins) and may call the fast operator
functions re-exported here (``add``, ``eq`` …) directly on hot paths.

Calling conventions of a ``NativeFn``:

* ``needs_ctx`` functions are called as ``fn(ctx, *args)`` with a ``CallContext``;
* ``mutating`` functions return ``(new_receiver, result)``: write ``new_receiver``
  back where ``args[0]`` came from (lists, dicts and bytearrays come back as the
  same, changed object; strings, ints and chars as new values);
* the fast operator functions return ``NOT_BUILTIN`` when no built-in applies
  (then try script/host overloads, else ``ErrorFunctionNotFound``); comparisons
  of two different built-in types never do: they are false (``!=`` true).

Optional ``CallContext`` extras the library uses when present:
``call_this(fp, args, this) -> (result, new_this)`` (``for_each`` writes elements
back), ``fn_arity(fp)`` (callback shape without trial calls; a ``fp.fn`` with an
``arity`` attribute also works) and ``fast_caller(fp, nargs) -> callable | None``
(a direct ``f(*args)`` for hot loops such as ``sort`` and ``map``).
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
