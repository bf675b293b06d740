"""What a ``catch (e)`` block receives: thrown values bare, runtime errors as maps."""

from __future__ import annotations

from typing import Any

import pytest

from picloud.rhai import Engine
from picloud.rhai.errors import RhaiError


def caught(body: str, prelude: str = "") -> Any:
    """The value ``e`` holds after ``try { body } catch (e)``."""
    return Engine().eval(f"{prelude} let r = (); try {{ {body} }} catch (e) {{ r = e }} r")


@pytest.mark.parametrize(
    ("body", "prelude", "expected"),
    [
        ("throw 42", "", 42),
        ('throw "oops"', "", "oops"),
        ("throw #{code: 7}", "", {"code": 7}),
        ("throw", "", None),
        ("f()", "fn f() { g() } fn g() { throw [1, 2] }", [1, 2]),
        ("try { throw 1 } catch { throw; }", "", 1),
        ("try { throw 1 } catch (x) { throw x + 1 }", "", 2),
    ],
)
def test_thrown_values_arrive_bare_even_through_function_calls(
    body: str, prelude: str, expected: Any
) -> None:
    # Given a throw, possibly deep inside functions, then catch receives the value itself
    assert caught(body, prelude) == expected


@pytest.mark.parametrize(
    ("body", "prelude", "error", "fields"),
    [
        ("1 / 0", "", "ErrorArithmetic", {}),
        ("let a = [1]; a[5]", "", "ErrorArrayBounds", {"length": 1, "index": 5}),
        ('"abc"[10]', "", "ErrorStringBounds", {"length": 3, "index": 10}),
        ("let x = 5; x[70]", "", "ErrorBitFieldBounds", {"index": 70}),
        ("nope(1)", "", "ErrorFunctionNotFound", {"function": "nope (i64)"}),
        ("xyz", "", "ErrorVariableNotFound", {"variable": "xyz"}),
        ("let m = #{}; m.a.b", "", "ErrorPropertyNotFound", {"property": "b"}),
        ("let c = 1; if c {}", "", "ErrorMismatchDataType", {"requested": "bool", "actual": "i64"}),
        ("f()", "fn f() { 1 / 0 }", "ErrorArithmetic", {}),
        ('eval("1 / 0")', "", "ErrorArithmetic", {}),
        ("f()", "fn f() { this }", "ErrorUnboundThis", {}),
        ("let n = 1; for x in n {}", "", "ErrorFor", {}),
    ],
)
def test_runtime_errors_arrive_as_maps(
    body: str, prelude: str, error: str, fields: dict[str, Any]
) -> None:
    # Given a failing operation inside try, when it is caught
    e = caught(body, prelude)
    # Then the catch variable is a map naming the error, its message and position
    assert isinstance(e, dict), e
    assert e["error"] == error
    assert isinstance(e["message"], str) and e["message"]
    assert e["line"] >= 1 and e["position"] >= 1
    for k, v in fields.items():
        assert e[k] == v


def test_catch_variable_is_scoped_to_the_catch_block() -> None:
    # Given an outer variable with the catch variable's name, then it is untouched
    assert Engine().eval("let e = 5; try { throw 1 } catch (e) { } e") == 5


def test_try_value_is_the_body_value_or_unit_when_caught() -> None:
    # Given try as the last statement, then its value is the body's, or () after a catch
    assert Engine().eval("try { 1 } catch (e) { 2 }") == 1
    assert Engine().eval("try { throw 1 } catch (e) { 2 }") is None


def test_catch_map_values_can_be_used_by_the_script() -> None:
    # Given a caught error map, then the script can branch on its fields
    src = 'let kind = ""; try { [1][3] } catch (e) { kind = e.error + ":" + e.index } kind'
    assert Engine().eval(src) == "ErrorArrayBounds:3"


@pytest.mark.parametrize(
    "src",
    ["try { loop {} } catch { }", "fn f() { f() } try { f() } catch { }"],
)
def test_limit_errors_are_not_caught(src: str) -> None:
    # Given a safety limit reached inside try, then catch does not run and the run fails
    from picloud.rhai import EngineOptions

    with pytest.raises(RhaiError) as info:
        Engine(EngineOptions(max_operations=10_000)).eval(src)
    assert info.value.kind in ("ErrorTooManyOperations", "ErrorStackOverflow")
