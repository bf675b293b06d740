"""String and char functions, called through the STANDARD registry as the compiler would."""

from __future__ import annotations

from typing import Any

import pytest

from picloud.rhai.builtins import STANDARD
from picloud.rhai.errors import ErrorDataTooLarge
from picloud.rhai.options import EngineOptions
from picloud.rhai.values import Char, RhaiRange


class Ctx:
    """A minimal CallContext for functions that only read options."""

    def __init__(self, **opts: Any) -> None:
        self.options = EngineOptions(**opts)


def call(name: str, *args: Any, ctx: Any = None) -> Any:
    """Resolve ``name`` for the argument types and call it like the runtime does."""
    nf = STANDARD.resolve(name, tuple(type(a) for a in args))
    assert nf is not None, f"no overload {name}{tuple(type(a).__name__ for a in args)}"
    return nf.fn(ctx or Ctx(), *args) if nf.needs_ctx else nf.fn(*args)


HEART = "\u2764"
X = f"{HEART * 3} hello! {HEART * 3}"

PURE = [
    # (name, args, expected)
    ("len", ("héllo",), 5),
    ("bytes", ("héllo",), 6),
    ("is_empty", ("",), True),
    ("sub_string", (f"hello! {HEART * 3}", -2, 2), HEART * 2),
    ("sub_string", (X, 1, 5), f"{HEART * 2} he"),
    ("sub_string", (X, 1), X[1:]),
    ("sub_string", (X, 99), ""),
    ("sub_string", (X, 1, -1), ""),
    ("sub_string", (X, 1, 999), X[1:]),
    ("sub_string", ("hello", RhaiRange(1, 3)), "el"),
    ("sub_string", ("hello", RhaiRange(1, 3, True)), "ell"),
    ("sub_string", ("hello", -99, 2), "he"),
    ("index_of", (X, Char(HEART)), 0),
    ("index_of", (X, Char(HEART), 5), 11),
    ("index_of", (X, Char(HEART), -6), 11),
    ("index_of", (X, Char(HEART), 999), -1),
    ("index_of", (X, Char("x")), -1),
    ("index_of", ("abcabc", "bc", 2), 4),
    ("index_of", ("", ""), -1),
    ("contains", ("hello", "ell"), True),
    ("contains", ("hello", Char("z")), False),
    ("starts_with", ("hello", "he"), True),
    ("ends_with", ("hello", Char("o")), True),
    ("get", ("hello", -1), Char("o")),
    ("get", ("hello", 9), None),
    ("to_upper", ("héllo",), "HÉLLO"),
    ("to_lower", ("ABC",), "abc"),
    ("to_upper", (Char("ß"),), Char("ß")),
    ("to_upper", (Char("a"),), Char("A")),
    ("to_chars", ("ab",), [Char("a"), Char("b")]),
    ("to_int", (Char("A"),), 65),
    ("to_string", (Char("c"),), "c"),
    ("to_debug", (Char("c"),), "c"),
    ("to_debug", ("c",), '"c"'),
    ("type_of", (Char("c"),), "char"),
    ("max", ("a", "b"), "b"),
    ("min", (Char("a"), Char("b")), Char("a")),
    ("split", (X, Char(" ")), [HEART * 3, "hello!", HEART * 3]),
    ("split", (X, "hello"), [f"{HEART * 3} ", f"! {HEART * 3}"]),
    ("split", ("a,b,c", ","), ["a", "b", "c"]),
    ("split", ("a,b,c", ",", 2), ["a", "b,c"]),
    ("split", ("a,b,c", Char(","), 2), ["a", "b,c"]),
    ("split", ("a b  c",), ["a", "b", "c"]),
    ("split", ("",), [""]),
    ("split", ("a \x1cb\u3000c",), ["a", "\x1cb", "c"]),  # Rust's whitespace, not Python's
    ("split", ("a,b,c", 3), ["a,b", ",c"]),
    ("split", ("abc", -1), ["ab", "c"]),
    ("split", ("abc", -9), ["", "abc"]),
    ("split", ("abc", ""), ["", "a", "b", "c", ""]),
    ("split", ("abc", "", 3), ["", "a", "bc"]),
    ("split", ("abc", "x"), ["abc"]),
    ("split_rev", ("a,b,c", ","), ["c", "b", "a"]),
    ("split_rev", ("a,b,c", ",", 2), ["c", "a,b"]),
    ("split_rev", ("a,b,c", Char(",")), ["c", "b", "a"]),
    ("+", ("a", [1]), "a[1]"),
    ("+", (1, "a"), "1a"),
    ("+", ("a", bytearray(b"bc")), "abc"),
    ("to_blob", ("hé",), bytearray("hé".encode())),
]


@pytest.mark.parametrize(("name", "args", "expected"), PURE)
def test_pure_string_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    got = call(name, *args)
    assert got == expected
    assert type(got) is type(expected)


MUTATING = [
    # (name, args, new receiver, result)
    ("pad", ("7", 4, Char("0")), "7000", None),
    ("pad", ("ab", 7, "xyz"), "abxyzxy", None),
    ("pad", ("abc", 2, Char("x")), "abc", None),
    ("truncate", ("hello", 2), "he", None),
    ("truncate", ("hello", -1), "", None),
    ("trim", ("  hi \n",), "hi", None),
    ("trim", ("\x1c hi\u3000",), "\x1c hi", None),
    ("pop", ("hello",), "hell", Char("o")),
    ("pop", ("",), "", None),
    ("pop", ("hello", 2), "hel", "lo"),
    ("pop", ("hello", 9), "", "hello"),
    ("clear", ("hello",), "", None),
    ("remove", ("hello", "l"), "heo", None),
    ("remove", ("hello", Char("h")), "ello", None),
    ("replace", ("hello", "l", "L"), "heLLo", None),
    ("replace", ("hello", Char("l"), Char("_")), "he__o", None),
    ("replace", ("hello", "X", "--"), "hello", None),
    ("make_upper", ("abc",), "ABC", None),
    ("make_lower", (Char("Q"),), Char("q"), None),
    ("crop", (X, 1, -1), "", None),
    ("crop", (X, 4, 6), "hello!", None),
    ("crop", (X, 1, 999), X[1:], None),
    ("crop", ("hello", 2), "llo", None),
    ("crop", ("hello", RhaiRange(1, 3)), "el", None),
    ("crop", ("hello", RhaiRange(0, 9223372036854775807)), "hello", None),
    ("crop", ("hello", RhaiRange(0, 9223372036854775807, True)), "hello", None),
    ("set", ("hello", 0, Char("J")), "Jello", None),
    ("set", ("hello", -1, Char("!")), "hell!", None),
    ("set", ("hello", 9, Char("!")), "hello", None),
    ("append", ("a", 1), "a1", None),
    ("+=", ("a", None), "a", None),
    ("+=", ("a", [1, 2]), "a[1, 2]", None),
]


@pytest.mark.parametrize(("name", "args", "receiver", "result"), MUTATING)
def test_mutating_string_function_returns_new_receiver(
    name: str, args: tuple[Any, ...], receiver: Any, result: Any
) -> None:
    nf = STANDARD.resolve(name, tuple(type(a) for a in args))
    assert nf is not None and nf.mutating
    new, r = call(name, *args)
    assert new == receiver
    assert type(new) is type(receiver)
    assert r == result


def test_pad_respects_max_string_size() -> None:
    with pytest.raises(ErrorDataTooLarge):
        call("pad", "a", 100, Char("x"), ctx=Ctx(max_string_size=10))
    assert call("pad", "a", 5, Char("x"), ctx=Ctx(max_string_size=10)) == ("axxxx", None)
