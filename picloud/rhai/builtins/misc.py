"""Generic functions on any value: ``type_of``, printing, ``to_string`` / ``to_debug``,
function-pointer helpers and ``sleep``."""

from __future__ import annotations

import time
from typing import Any

from picloud.rhai.builtins.registry import CallContext, Library
from picloud.rhai.values import FnPtr, to_debug, to_display, type_name

__all__ = ["register"]

Any_ = None


def _print(ctx: CallContext, x: Any) -> None:
    ctx.print(to_display(x))


def _debug(ctx: CallContext, x: Any) -> None:
    ctx.debug(to_debug(x))


def _curry(fp: FnPtr, *args: Any) -> FnPtr:
    return FnPtr(fp.name, tuple(fp.curry) + args, fp.fn)


def _sleep(secs: float) -> None:
    if secs > 0:
        time.sleep(secs)


def register(lib: Library) -> None:
    """Register the generic functions."""
    r = lib.register
    r("type_of", (Any_,), type_name)
    r("to_string", (Any_,), to_display)
    r("to_debug", (Any_,), to_debug)
    r("print", (Any_,), _print, needs_ctx=True)
    r("debug", (Any_,), _debug, needs_ctx=True)
    r("print", (), lambda ctx: ctx.print(""), needs_ctx=True)
    r("debug", (), lambda ctx: ctx.debug(""), needs_ctx=True)
    r("name", (FnPtr,), lambda fp: fp.name)
    r("is_anonymous", (FnPtr,), lambda fp: fp.name.startswith("anon$"))
    for n in range(1, 8):
        r("curry", (FnPtr,) + (Any_,) * n, _curry)
    # `take` leaves () behind in the variable it was called on.
    r("take", (Any_,), lambda v: (None, v), mutating=True)
    r("sleep", (int,), _sleep)
    r("sleep", (float,), _sleep)
