"""Array functions, including the ones taking function pointers (through a fake CallContext)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from picloud.rhai.builtins import NO_THIS, STANDARD
from picloud.rhai.errors import ErrorDataTooLarge, ErrorFunctionNotFound, ErrorRuntime
from picloud.rhai.options import EngineOptions
from picloud.rhai.values import Char, FnPtr, RhaiRange


class Fn:
    """A fake compiled function: ``f(this_box, *args)`` when it uses ``this``, else ``f(*args)``."""

    def __init__(
        self, f: Callable[..., Any], arity: int, uses_this: bool = False, hide_arity: bool = False
    ) -> None:
        self.f = f
        self.n = arity
        self.uses_this = uses_this
        if not hide_arity:
            self.arity = arity


class Ctx:
    """A CallContext like the runtime's: arity-checked calls, ``this`` written back via a box."""

    def __init__(self, fns: dict[str, Fn] | None = None, **opts: Any) -> None:
        self.options = EngineOptions(**opts)
        self.fns = fns or {}
        self.calls = 0

    def call(self, fp: FnPtr, args: list[Any], this: Any = NO_THIS) -> Any:
        return self.call_this(fp, args, this)[0]

    def call_this(self, fp: FnPtr, args: list[Any], this: Any) -> tuple[Any, Any]:
        self.calls += 1
        target = fp.fn or self.fns.get(fp.name)
        args = [*fp.curry, *args]
        if target is None or len(args) != target.n:
            raise ErrorFunctionNotFound(
                f"Function not found: {fp.name} (...)", function=f"{fp.name} (...)"
            )
        if target.uses_this:
            box = [this]
            r = target.f(box, *args)
            return r, box[0]
        return target.f(*args), this

    def print(self, text: str) -> None:
        pass

    def debug(self, text: str) -> None:
        pass


def fp(f: Callable[..., Any], arity: int, **kw: Any) -> FnPtr:
    return FnPtr("anon$1", (), Fn(f, arity, **kw))


def call(name: str, *args: Any, ctx: Any = None) -> Any:
    nf = STANDARD.resolve(name, tuple(type(a) for a in args))
    assert nf is not None, f"no overload {name}{tuple(type(a).__name__ for a in args)}"
    return nf.fn(ctx or Ctx(), *args) if nf.needs_ctx else nf.fn(*args)


PURE = [
    ("len", ([1, 2],), 2),
    ("is_empty", ([],), True),
    ("get", ([1, 2, 3], -1), 3),
    ("get", ([1, 2, 3], 5), None),
    ("extract", ([1, 2, 3], 1, 10), [2, 3]),
    ("extract", ([1, 2, 3], -3, 1), [1]),
    ("extract", ([1, 2, 3], -99, 2), [1, 2]),
    ("extract", ([1, 2, 3], 99, 1), []),
    ("extract", ([1, 2, 3], 1), [2, 3]),
    ("extract", ([1, 2, 3], RhaiRange(1, 2, True)), [2, 3]),
    ("contains", ([1, 2, 3], 2), True),
    ("contains", (["a"], "b"), False),
    ("index_of", ([1, 2, 3], 2), 1),
    ("index_of", (["hi", "hello", "world"], "hello"), 1),
    ("index_of", (["a", "b", "c", "b"], "b", 2), 3),
    ("index_of", (["a", "b"], "missing"), -1),
    ("index_of", ([1, 2, 3], "foo"), -1),
    ("index_of", ([1, 2, 3], 3, -1), 2),
    ("order", ([3, 1, 2],), [1, 2, 3]),
    ("order_desc", (["a", "c", "b"],), ["c", "b", "a"]),
    ("+", ([1], [2]), [1, 2]),
    ("==", ([1, 2], [1, 2.0]), True),
    ("!=", ([1, 2], [1, 3]), True),
]


@pytest.mark.parametrize(("name", "args", "expected"), PURE)
def test_pure_array_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    assert call(name, *args) == expected


MUTATING = [
    # (name, args, array afterwards, result)
    ("push", ([1], 2), [1, 2], None),
    ("append", ([1], [2, 3]), [1, 2, 3], None),
    ("+=", ([1], 2), [1, 2], None),
    ("+=", ([1], [2]), [1, 2], None),
    ("insert", ([1, 2], 0, 9), [9, 1, 2], None),
    ("insert", ([1, 2], -1, 9), [1, 9, 2], None),
    ("insert", ([1, 2], 99, 9), [1, 2, 9], None),
    ("insert", ([1, 2], -99, 9), [9, 1, 2], None),
    ("insert", ([], 5, 9), [9], None),
    ("pad", ([1, 2, 3], 5, 42), [1, 2, 3, 42, 42], None),
    ("pad", ([1, 2, 3], 2, 42), [1, 2, 3], None),
    ("pop", ([1, 2],), [1], 2),
    ("pop", ([],), [], None),
    ("shift", ([1, 2],), [2], 1),
    ("remove", ([1, 2, 3], 1), [1, 3], 2),
    ("remove", ([1, 2, 3], -1), [1, 2], 3),
    ("remove", ([1, 2, 3], 7), [1, 2, 3], None),
    ("clear", ([1],), [], None),
    ("truncate", ([1, 2, 3], 2), [1, 2], None),
    ("truncate", ([1, 2, 3], 0), [], None),
    ("chop", ([1, 2, 3], 2), [2, 3], None),
    ("chop", ([1, 2, 3], 9), [1, 2, 3], None),
    ("reverse", ([1, 2, 3],), [3, 2, 1], None),
    ("splice", ([1, 2, 3, 4], 1, 2, [9]), [1, 9, 4], None),
    ("splice", ([1, 2, 3], 9, 2, [9]), [1, 2, 3, 9], None),
    ("splice", ([1, 2, 3], -1, 1, [8, 9]), [1, 2, 8, 9], None),
    ("splice", ([1, 2, 3], RhaiRange(0, 2), []), [3], None),
    ("split", ([1, 2, 3], 1), [1], [2, 3]),
    ("split", ([1, 2, 3], -1), [1, 2], [3]),
    ("split", ([1, 2, 3], 5), [1, 2, 3], []),
    ("drain", ([1, 2, 3, 4], 1, 2), [1, 4], [2, 3]),
    ("drain", ([1, 2, 3, 4], RhaiRange(1, 2, True)), [1, 4], [2, 3]),
    ("retain", ([1, 2, 3, 4], 1, 2), [2, 3], [1, 4]),
    ("retain", ([1, 2, 3, 4], RhaiRange(2, 9)), [3, 4], [1, 2]),
    ("dedup", ([1, 1, 2, 1, 1.0],), [1, 2, 1], None),
    ("sort", ([3, 1, 2],), [1, 2, 3], None),
    ("sort", ([2.5, -1.0, 2.0],), [-1.0, 2.0, 2.5], None),
    ("sort", (["b", "a"],), ["a", "b"], None),
    ("sort", ([Char("b"), Char("a")],), [Char("a"), Char("b")], None),
    ("sort", ([True, False],), [False, True], None),
    ("sort", ([None, None],), [None, None], None),
    ("sort_desc", ([3, 1, 2],), [3, 2, 1], None),
]


@pytest.mark.parametrize(("name", "args", "after", "result"), MUTATING)
def test_mutating_array_function_changes_receiver_in_place(
    name: str, args: tuple[Any, ...], after: list[Any], result: Any
) -> None:
    nf = STANDARD.resolve(name, tuple(type(a) for a in args))
    assert nf is not None and nf.mutating
    arr = args[0]
    new, r = call(name, *args)
    assert new is arr
    assert arr == after
    assert r == result


def test_pad_checks_max_array_size() -> None:
    with pytest.raises(ErrorDataTooLarge):
        call("pad", [1], 20, 0, ctx=Ctx(max_array_size=10))
    with pytest.raises(ErrorDataTooLarge):
        call("pad", [1], 5, [1, 2, 3], ctx=Ctx(max_array_size=10))


def test_pad_copies_container_items() -> None:
    arr: list[Any] = []
    call("pad", arr, 2, [42])
    arr[0].append(1)
    assert arr == [[42, 1], [42]]


@pytest.mark.parametrize(
    "bad",
    [[1, "a"], [1, 1.0], [[1], [2]], [{"a": 1}, {"b": 2}]],
)
def test_builtin_sort_rejects_mixed_or_unsortable(bad: list[Any]) -> None:
    with pytest.raises(ErrorFunctionNotFound):
        call("sort", bad)


def test_sort_with_comparator_is_stable_and_ignores_errors() -> None:
    arr = [(1, "a"), (0, "b"), (1, "c"), (0, "d")]
    items = [{"k": k, "v": v} for k, v in arr]
    call("sort", items, fp(lambda a, b: a["k"] - b["k"], 2))
    assert [x["v"] for x in items] == ["b", "d", "a", "c"]
    desc = [5, 2, 9]
    call("sort", desc, fp(lambda a, b: b - a, 2))
    assert desc == [9, 5, 2]
    as_bool = [3, 1, 2]
    call("sort", as_bool, fp(lambda a, b: a < b, 2))
    assert as_bool == [1, 2, 3]

    def boom(a: Any, b: Any) -> Any:
        raise ErrorRuntime("x")

    same = [3, 1, 2]
    call("sort", same, fp(boom, 2))
    assert same == [3, 1, 2]


def test_order_by_leaves_original() -> None:
    arr = [3, 1, 2]
    assert call("order", arr, fp(lambda a, b: a - b, 2)) == [1, 2, 3]
    assert arr == [3, 1, 2]


@pytest.mark.parametrize("hide_arity", [False, True])
def test_callbacks_accept_value_value_index_or_this(hide_arity: bool) -> None:
    # Given closures of each shape / When map runs / Then each gets the element its own way
    kw = {"hide_arity": hide_arity}
    assert call("map", [1, 2, 3], fp(lambda x: x * 2, 1, **kw)) == [2, 4, 6]
    assert call("map", [1, 2, 3], fp(lambda x, i: x * i, 2, **kw)) == [0, 2, 6]
    assert call("map", [1, 2, 3], fp(lambda box: box[0] + 1, 0, uses_this=True, **kw)) == [2, 3, 4]
    assert call("filter", [1, 2, 3, 4], fp(lambda x: x % 2 == 0, 1, **kw)) == [2, 4]
    assert call("filter", [5, 6, 7], fp(lambda x, i: i > 0, 2, **kw)) == [6, 7]
    assert call("some", [1, 2], fp(lambda x: x > 1, 1, **kw)) is True
    assert call("all", [1, 2], fp(lambda x: x > 1, 1, **kw)) is False
    assert call("all", [], fp(lambda x: False, 1, **kw)) is True
    assert call("find", [1, 2, 3], fp(lambda x: x > 1, 1, **kw)) == 2
    assert call("find", [1, 2, 3], fp(lambda x: x > 5, 1, **kw)) is None
    assert call("find_map", [1, 2, 3], fp(lambda x: x * 10 if x > 1 else None, 1, **kw)) == 20
    assert call("index_of", [1, 2, 3, 2], fp(lambda x: x == 2, 1, **kw), 2) == 3


def test_fast_caller_is_used_when_the_context_offers_one() -> None:
    # Given a context with fast_caller / When sorting and mapping / Then calls skip ctx.call
    class FastCtx(Ctx):
        def fast_caller(self, fp: FnPtr, nargs: int) -> Any:
            return fp.fn.f if fp.fn.n == nargs else None

    ctx = FastCtx()
    arr = [3, 1, 2]
    call("sort", arr, fp(lambda a, b: a - b, 2), ctx=ctx)
    assert arr == [1, 2, 3]
    assert call("map", arr, fp(lambda x: -x, 1), ctx=ctx) == [-1, -2, -3]
    assert call("reduce", arr, fp(lambda s, v: s + v, 2), 0, ctx=ctx) == 6
    assert ctx.calls == 0


@pytest.mark.parametrize("hide_arity", [False, True])
def test_reduce_shapes(hide_arity: bool) -> None:
    kw = {"hide_arity": hide_arity}
    assert call("reduce", [1, 2, 3], fp(lambda s, v: (s or 0) + v, 2, **kw)) == 6
    assert call("reduce", [1, 2, 3], fp(lambda s, v, i: (s or 0) + v * i, 3, **kw)) == 8
    this_sum = fp(lambda box, s: (s or 0) + box[0], 1, uses_this=True, **kw)
    assert call("reduce", [1, 2, 3], this_sum) == 6


def test_reduce_passes_accumulator_then_value() -> None:
    sq = fp(lambda s, v: v * v if s is None else s + v * v, 2)
    assert call("reduce", [1, 2, 3], sq) == 14
    assert call("reduce_rev", [1, 2, 3], sq) == 14
    with_i = fp(lambda s, v, i: (10 if i == 0 else s) + v * v, 3)
    assert call("reduce", [1, 2, 3], with_i) == 24
    rev_i = fp(lambda s, v, i: (10 if i == 2 else s) + v * v, 3)
    assert call("reduce_rev", [1, 2, 3], rev_i) == 24
    assert call("reduce", [1, 2], fp(lambda s, v: s + v, 2), 100) == 103
    assert call("reduce", [], fp(lambda s, v: s + v, 2), 7) == 7


def test_for_each_binds_element_as_this_and_writes_back() -> None:
    arr = [1, 2, 3]

    def times_ten(box: list[Any]) -> None:
        box[0] *= 10

    call("for_each", arr, fp(times_ten, 0, uses_this=True))
    assert arr == [10, 20, 30]

    def add_index(box: list[Any], i: int) -> None:
        box[0] += i

    call("for_each", arr, fp(add_index, 1, uses_this=True))
    assert arr == [10, 21, 32]


def test_drain_and_retain_with_predicate() -> None:
    arr = [1, 2, 3, 4]
    _, out = call("drain", arr, fp(lambda x: x % 2 == 0, 1))
    assert (arr, out) == ([1, 3], [2, 4])
    arr = [1, 2, 3, 4]
    _, out = call("retain", arr, fp(lambda x, i: i < 1, 2))
    assert (arr, out) == ([1], [2, 3, 4])


def test_zip_and_dedup_by() -> None:
    assert call("zip", [1, 2, 3], [4, 5], fp(lambda a, b: a + b, 2)) == [5, 7]
    assert call("zip", [1, 2], [4, 5], fp(lambda a, b, i: a * b + i, 3)) == [4, 11]
    arr = [1, 2, 4, 5, 9]
    call("dedup", arr, fp(lambda a, b: b - a == 1, 2))
    assert arr == [1, 4, 9]


def test_functions_named_by_string() -> None:
    ctx = Ctx({"is_two": Fn(lambda x: x == 2, 1), "double": Fn(lambda x: x * 2, 1)})
    assert call("index_of", [1, 2, 3, 2], "is_two", ctx=ctx) == 1
    assert call("index_of", [1, 2, 3, 2], "is_two", 2, ctx=ctx) == 3
    assert call("index_of", ["x", "hello"], "hello", ctx=ctx) == 1
    assert call("map", [1, 2], "double", ctx=ctx) == [2, 4]
    with pytest.raises(ErrorFunctionNotFound):
        call("map", [1, 2], "nope", ctx=ctx)


def test_errors_inside_callbacks_propagate() -> None:
    def bad(x: Any) -> Any:
        raise ErrorRuntime("boom")

    with pytest.raises(ErrorRuntime):
        call("map", [1], fp(bad, 1))
    with pytest.raises(ErrorRuntime):
        call("map", [1], fp(bad, 1, hide_arity=True))
