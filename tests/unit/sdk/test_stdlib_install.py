"""``install_stdlib``: namespaces, engine size limits, output budgets, Python errors."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from picloud.rhai import Engine, EngineOptions, Scope
from picloud.rhai.errors import RhaiError
from picloud.sdk import NAMESPACES, ScriptLogs, install_stdlib
from picloud.sdk._common import namespace
from picloud.sdk.regex import MAX_OUTPUT_CHARS


def test_every_namespace_is_callable_without_import() -> None:
    # Given a fresh engine with the standard library, then each namespace answers
    e = Engine()
    sink = install_stdlib(e)
    assert isinstance(sink, ScriptLogs)
    assert set(NAMESPACES) == {"log", "json", "time", "regex", "random", "base64", "hex", "url"}
    src = (
        '[json::stringify(1), time::format(0).len(), regex::find("b", "abc"), random::int(1, 1),'
        ' base64::encode("a"), hex::encode("a"), url::encode(" ")]'
    )
    assert e.eval(src) == ["1", 24, "b", 1, "YQ==", "61", "%20"]


def test_a_bad_regex_timeout_is_refused() -> None:
    with pytest.raises(ValueError):
        install_stdlib(Engine(), regex_timeout=0)


@pytest.mark.parametrize(
    ("src", "name"),
    [
        ('json::stringify("xxxxxxxxxx")', ""),
        ('let s = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; json::stringify(s)', "Length of string"),
        ('let s = "xxxxxxxxxxxxxxxxxxxxxxxx"; s.len()', ""),
        ('hex::encode("xxxxxxxxxxxxxxxxxxxx")', "Length of string"),
        ('regex::split("", "abcdefghijklmnopqrstuvwxyz"[0..10])', ""),
        ("random::bytes(65)", "Size of array"),
        ('url::parse("http://h/?a=1&b=2&c=3&d=4&e=5").query', "Size of object map"),
    ],
)
def test_results_respect_the_engines_size_limits(src: str, name: str) -> None:
    # Given an engine with small size limits
    e = Engine(EngineOptions(max_string_size=32, max_array_size=64, max_map_size=4))
    install_stdlib(e)
    if not name:
        # Then results within the limits are fine
        e.eval(src)
        return
    # Then a result over a limit is Rhai's (uncatchable) ErrorDataTooLarge, as if the script built it
    with pytest.raises(RhaiError) as info:
        e.eval(f"try {{ {src} }} catch {{ 0 }}")
    assert info.value.kind == "ErrorDataTooLarge"
    assert info.value.fields["name"] == name


def test_regex_replace_cannot_multiply_a_string_past_the_budget() -> None:
    # Given text where an empty pattern matches between every character
    e = Engine()
    install_stdlib(e)
    scope = Scope().push("t", "a" * 10_000).push("r", "x" * 2_000)
    # When a script replaces each empty match with a long string
    got = e.eval(
        'let out; try { out = regex::replace("", t, r); } catch (err) { out = err; } out', scope
    )
    # Then it is refused before the result is built
    assert got == f"regex: replace: result would be longer than {MAX_OUTPUT_CHARS} characters"


def test_regex_replace_budget_follows_the_engine_string_limit() -> None:
    e = Engine(EngineOptions(max_string_size=100))
    install_stdlib(e)
    got = e.eval(
        'let out; try { out = regex::replace("", "aaaaaaaaaa", "xxxxxxxxxx"); } catch (err) { out = err; } out'
    )
    assert got == "regex: replace: result would be longer than 100 characters"


def test_unexpected_python_errors_become_prefixed_rhai_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a namespace function with a bug
    def buggy(x: Any) -> Any:
        return {}["missing"]

    e = Engine()
    e.register_static_module("demo", namespace("demo", {"f": buggy}))
    # When a script calls it, then it sees a stable prefixed error and the server logs the bug
    with caplog.at_level(logging.ERROR, logger="picloud.sdk"):
        assert e.eval("let r; try { demo::f(1); } catch (err) { r = err; } r") == "demo: f failed"
    assert any("demo::f" in r.getMessage() for r in caplog.records)


def test_engine_with_stdlib_is_usable_from_many_threads() -> None:
    # Given one engine shared by worker threads
    e = Engine()
    install_stdlib(e)
    ast = e.compile('json::stringify(#{n: n, t: regex::replace("\\\\d", `${n}`, "#")})')
    results: dict[int, Any] = {}

    def work(n: int) -> None:
        for _ in range(50):
            results[n] = e.eval_ast(ast, Scope().push("n", n))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every thread got its own correct result
    assert results == {n: f'{{"n":{n},"t":"#"}}' for n in range(8)}
