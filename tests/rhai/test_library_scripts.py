"""Library behaviour seen from scripts, run through the Engine (behaviours the corpus misses)."""

from __future__ import annotations

from typing import Any

import pytest

from picloud.rhai import Engine
from picloud.rhai.errors import RhaiError
from picloud.rhai.values import Char

SCRIPTS = [
    # integer division and remainder truncate toward zero (Rust), unlike Python
    ("-7 / 2", -3),
    ("-7 % 2", -1),
    ("7 % -2", 1),
    ("let x = -7; x /= 2; x", -3),
    ("10 / 4.0", 2.5),
    ("10.0 % 4", 2.0),
    ("2 ** 3 ** 2", 512),
    ("1 << 64", 0),
    ("1 << -1", 0),
    ("-16 >> 2", -4),
    # comparisons across types
    ("1 < 2.5", True),
    ('"a" < 1', False),
    ('"42" == 42', False),
    ("[1, 2] == [1, 2.0]", True),
    ("0.1 + 0.2 == 0.3", True),
    ("'x' > \"hello\"", True),
    # display forms
    ("1.0.to_string()", "1.0"),
    ("(1.0 / 3.0).to_string()", "0.3333333333333333"),
    ("1e14.to_string()", "1e14"),
    ("0.00001.to_string()", "0.00001"),
    ("[0.00001, 1e16].to_string()", "[1e-5, 1e16]"),
    ('"x" + 1.5', "x1.5"),
    ('"a" + ()', "a"),
    ('`v=${[1, "b"]}`', 'v=[1, "b"]'),
    ('#{b: 1, a: "x"}.to_string()', '#{"a": "x", "b": 1}'),
    ('to_debug("a\\nb")', '"a\\nb"'),
    ("blob(3, 1).to_string()", "[010101]"),
    ("(1..3).to_string()", "1..3"),
    ("type_of(1..=3)", "range="),
    # strings
    ("let s = \"hello\"; s -= 'l'; s", "heo"),
    ('let s = "hello"; s.replace("l", "L"); s', "heLLo"),
    ('let s = "hello"; let r = s.replace("l", "L"); r', None),
    ("\"7\".pad(4, '0')", None),
    ("let s = \"7\"; s.pad(4, '0'); s", "7000"),
    ('let s = "héllo"; s[1]', Char("é")),
    ('let s = "hello"; s[1..3]', "el"),
    ('let s = "hello"; s[1..3] = "iii"; s', "hiiilo"),
    ("\"hello\".index_of('l', -2)", 3),
    ('let a = "a,b,,c".split(","); a.len()', 4),
    ('let n = 0; for c in "abc".chars() { n += c.to_int() } n', 294),
    # arrays
    ("let a = [3, 1, 2]; a.sort(); a", [1, 2, 3]),
    ("let a = [3, 1, 2]; a.sort(|x, y| y - x); a", [3, 2, 1]),
    ("let a = [3, 1, 2]; a.sort(|x, y| throw 1); a", [3, 1, 2]),
    ('let a = ["b", "a"]; a.sort_desc(); a', ["b", "a"]),
    ("[1, 2, 3].map(|v, i| v * i)", [0, 2, 6]),
    ("let a = [1, 2, 3]; a.for_each(|i| this += i); a", [1, 3, 5]),
    ("[1, 2, 3].filter(|v| v > 1).reduce(|s, v| s + v, 100)", 105),
    ("let a = [1, 2]; a += 3; a += [4]; a", [1, 2, 3, 4]),
    ("let a = [1, 2, 3]; a.insert(-1, 9); a", [1, 2, 9, 3]),
    ("let a = [[1]]; let b = a; b[0].push(2); a", [[1]]),
    ("2 in [1, 2.0]", True),
    ('fn big(x) { x > 1 } [1, 2, 3].index_of("big")', 1),
    # maps
    ("let m = #{b: 2, a: 1}; m.keys()", ["a", "b"]),
    ("let m = #{b: 2, a: 1}; m.values()", [1, 2]),
    ('let m = #{a: 1}; "a" in m', True),
    ("let m = #{a: 1}; m.b", None),
    ('#{a: [Fn("abc").curry(42)]}.to_json()', '{"a":[["abc",42]]}'),
    # blobs, bits, ranges
    ("let b = blob(2); b[0] = 999; b[0]", 231),
    ("let x = 10; x[3] = false; x", 2),
    ("let x = 10; x[1..4]", 5),
    ("let n = 0; for b in bits(0b1011) { if b { n += 1 } } n", 3),
    ("let s = 0; for x in range(10, 1, -3) { s += x } s", 21),
    ("let s = 0.0; for x in range(0.0, 1.0, 0.25) { s += x } s", 1.5),
    ("5 in 1..5", False),
    ("let s = 0; for x in blob(3, 7) { s += x.to_int() } s", 21),
    ("let t = (); for x in blob(1) { t = type_of(x) } t", "u8"),
    ("let s = (); for x in blob(1, 9) { s = x * x + x } s.to_string()", "90"),
    ("5 in 1..=5", True),
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.mark.parametrize(("script", "expected"), SCRIPTS)
def test_script_result(engine: Engine, script: str, expected: Any) -> None:
    got = engine.eval(script)
    assert got == expected
    assert type(got) is type(expected)


ERRORS = [
    ("9223372036854775807 + 1", "ErrorArithmetic"),
    ("1 / 0", "ErrorArithmetic"),
    ("2 ** -1", "ErrorArithmetic"),
    ("abs(-9223372036854775808)", "ErrorArithmetic"),
    ("[1, 2][2]", "ErrorArrayBounds"),
    ('"abc"[5]', "ErrorStringBounds"),
    ("let x = 1; x[64]", "ErrorBitFieldBounds"),
    ('[1, "a"].sort()', "ErrorFunctionNotFound"),
    ('parse_int("x")', "ErrorArithmetic"),
    ("range(1, 5, 0)", "ErrorInFunctionCall"),
    ("let m = #{a: 1}; for x in m {}", "ErrorFor"),
    # iterating a blob yields u8 bytes, which do not mix with i64 (as in Rhai)
    ("let s = 0; for x in blob(2, 1) { s += x } s", "ErrorFunctionNotFound"),
    ("for x in blob(1, 200) { x + x }", "ErrorArithmetic"),
]


@pytest.mark.parametrize(("script", "kind"), ERRORS)
def test_script_error(engine: Engine, script: str, kind: str) -> None:
    with pytest.raises(RhaiError) as e:
        engine.eval(script)
    assert e.value.kind == kind


def test_print_and_debug_forms() -> None:
    out: list[str] = []
    e = Engine()
    e.on_print(out.append)
    e.on_debug(lambda s: out.append("debug:" + s))
    e.run('print(1.0); print("s"); print(()); debug("s"); debug(()); print([1.0, "a", ()])')
    assert out == ["1.0", "s", "", 'debug:"s"', "debug:()", '[1.0, "a", ()]']
