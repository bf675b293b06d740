"""Shared helpers of the standard packages: offsets, bounds, function-pointer calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from picloud.rhai.builtins.indexing import bit_bounds
from picloud.rhai.builtins.registry import NO_THIS, CallContext
from picloud.rhai.errors import ErrorArithmetic, ErrorDataTooLarge, RhaiError
from picloud.rhai.values import INT_MAX, FnPtr, RhaiRange

__all__ = [
    "acc_caller",
    "arith",
    "bit_index",
    "call_elem",
    "call_fn",
    "call_plain",
    "direct",
    "is_fn_not_found",
    "item_caller",
    "offset_len",
    "range_start_len",
    "too_large",
]


def offset_len(length: int, start: int, n: int) -> tuple[int, int]:
    """Rhai's ``calc_offset_len``: negative start counts from the end; both clamp."""
    if start < 0:
        start = length - min(-start, length)
    elif start >= length:
        return length, 0
    if n <= 0:
        return start, 0
    return start, min(n, length - start)


def range_start_len(r: RhaiRange) -> tuple[int, int]:
    """``(start, len)`` of a range argument the way Rhai's range overloads derive them."""
    start = max(r.start, 0)
    if r.inclusive:
        end = min(max(r.end, start), INT_MAX - 1)
        return start, end - start + 1
    end = max(r.end, start)
    return start, end - start


def bit_index(bit: int) -> int:
    """A bit position 0..63 (negative counts from the top) or ``ErrorBitFieldBounds``."""
    if bit < 0:
        if bit >= -64:
            return 64 + bit
    elif bit < 64:
        return bit
    raise bit_bounds(bit)


def arith(msg: str) -> RhaiError:
    """An ``ErrorArithmetic`` with Rhai's message."""
    return ErrorArithmetic(msg)


def too_large(what: str) -> RhaiError:
    """Rhai's ``ErrorDataTooLarge`` (``"Length of string"``, ``"Size of array"`` …)."""
    return ErrorDataTooLarge(f"{what} too large", type=what)


def is_fn_not_found(e: RhaiError, fp: FnPtr) -> bool:
    """Whether ``e`` says the pointer's own function (not one it calls) was not found."""
    if e.kind != "ErrorFunctionNotFound":
        return False
    sig = e.fields.get("function")
    text = sig if isinstance(sig, str) else str(e.message).removeprefix("Function not found: ")
    return text.startswith(fp.name)


def call_fn(ctx: CallContext, fp: FnPtr, args: list[Any]) -> Any:
    """Call a function pointer with plain arguments."""
    return ctx.call(fp, args)


def direct(ctx: Any, fp: FnPtr, nargs: int) -> Callable[..., Any]:
    """A callable ``f(*args)`` for ``fp`` with ``nargs`` arguments and no ``this``.

    Uses ``ctx.fast_caller(fp, nargs)`` when the context offers one (it may
    skip per-call checks in hot loops such as ``sort``), else ``ctx.call``.
    """
    fast = getattr(ctx, "fast_caller", None)
    if fast is not None:
        f = fast(fp, nargs)
        if f is not None:
            return f  # type: ignore[no-any-return]
    call = ctx.call

    def via_call(*args: Any) -> Any:
        return call(fp, list(args))

    return via_call


def item_caller(ctx: Any, fp: FnPtr) -> Callable[[Any, int], Any]:
    """``h(item, index)`` calling ``fp`` the way ``map``/``filter``/… do, shape resolved once.

    ``|x|`` gets the item, ``|x, i|`` item and index, ``||`` binds the item as
    ``this``; when the arity is unknown each call tries the shapes in turn.
    """
    k = _arity(ctx, fp)
    if k is None:
        return lambda x, i: call_elem(ctx, fp, x, [], [i])
    k -= len(fp.curry)
    if k == 1:
        f1 = direct(ctx, fp, 1)
        return lambda x, i: f1(x)
    if k == 2:
        f2 = direct(ctx, fp, 2)
        return f2
    call = ctx.call
    return lambda x, i: call(fp, [], x)


def acc_caller(ctx: Any, fp: FnPtr) -> Callable[[Any, Any, int], Any]:
    """``h(acc, item, index)`` calling a ``reduce`` function, shape resolved once."""
    k = _arity(ctx, fp)
    if k is None:
        return lambda acc, x, i: call_elem(ctx, fp, x, [acc], [i], 1)
    k -= len(fp.curry)
    if k == 2:
        f2 = direct(ctx, fp, 2)
        return lambda acc, x, i: f2(acc, x)
    if k == 3:
        return direct(ctx, fp, 3)
    call = ctx.call
    if k == 1:
        return lambda acc, x, i: call(fp, [acc], x)
    return lambda acc, x, i: call(fp, [acc, i], x)


def _arity(ctx: Any, fp: FnPtr) -> int | None:
    """Parameters of the pointer's target (curried ones included), when knowable."""
    k = getattr(fp.fn, "arity", None)
    if type(k) is int:
        return k
    f = getattr(ctx, "fn_arity", None)
    return f(fp) if f is not None else None


def _invoke(ctx: Any, fp: FnPtr, args: list[Any], this: Any, want_this: bool) -> Any:
    if not want_this or this is NO_THIS:
        r = ctx.call(fp, args, this)
        return (r, this) if want_this else r
    cw = getattr(ctx, "call_this", None) or getattr(ctx, "call_with_this", None)
    if cw is None:
        # Without write-back support only in-place changes of containers persist.
        return ctx.call(fp, args, this), this
    return cw(fp, args, this)


def call_elem(
    ctx: CallContext,
    fp: FnPtr,
    item: Any,
    args: list[Any],
    extra: list[Any],
    move_at: int | None = 0,
    want_this: bool = False,
) -> Any:
    """Call ``fp`` for an element the way Rhai's array methods do.

    The element goes in as ``this`` when the function takes ``len(args)`` or
    ``len(args) + len(extra)`` parameters; with ``move_at`` set, it may instead
    be passed as a parameter at that position (``|x|``, ``|x, i|``). The
    arity comes from ``ctx.fn_arity(fp)`` when the context offers it, else
    by trying each shape and skipping "function not found" for the pointer itself.
    With ``want_this`` the result is ``(value, new_this)`` (via
    ``ctx.call_with_this`` when the context offers it).
    """
    n = len(args)
    k = _arity(ctx, fp)
    if k is not None:
        k -= len(fp.curry)
        if k == n:
            return _invoke(ctx, fp, list(args), item, want_this)
        if move_at is not None:
            if k == n + 1:
                a = list(args)
                a.insert(move_at, item)
                return _invoke(ctx, fp, a, NO_THIS, want_this)
            if k == n + len(extra) + 1:
                a = list(args) + list(extra)
                a.insert(move_at, item)
                return _invoke(ctx, fp, a, NO_THIS, want_this)
        if k == n + len(extra):
            return _invoke(ctx, fp, list(args) + list(extra), item, want_this)
        return _invoke(ctx, fp, list(args), item, want_this)
    shapes: list[tuple[list[Any], Any]] = []
    if move_at is not None:
        a = list(args)
        a.insert(move_at, item)
        shapes.append((a, NO_THIS))
        a = list(args) + list(extra)
        a.insert(move_at, item)
        shapes.append((a, NO_THIS))
    shapes.append((list(args), item))
    shapes.append((list(args) + list(extra), item))
    err: RhaiError | None = None
    for a, this in shapes:
        try:
            return _invoke(ctx, fp, a, this, want_this)
        except RhaiError as e:
            if not is_fn_not_found(e, fp):
                raise
            err = err or e
    assert err is not None
    raise err


def call_plain(ctx: CallContext, fp: FnPtr, args: list[Any], extra: list[Any]) -> Any:
    """Call ``fp`` with ``args``, or ``args + extra`` when it takes that many parameters."""
    k = _arity(ctx, fp)
    if k is not None:
        k -= len(fp.curry)
        return ctx.call(fp, list(args) + list(extra) if k == len(args) + len(extra) else list(args))
    try:
        return ctx.call(fp, list(args))
    except RhaiError as e:
        if not is_fn_not_found(e, fp):
            raise
        return ctx.call(fp, list(args) + list(extra))
