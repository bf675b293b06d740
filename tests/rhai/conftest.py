"""Shared helpers for the Rhai tests: locating ``shared/`` and running corpus vectors."""

from __future__ import annotations

import json
import math
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from picloud.rhai import Engine, EngineOptions, Scope
from picloud.rhai.errors import ErrorParsing, RhaiError
from picloud.rhai.values import Char

_OPTION_NAMES = {f.name for f in fields(EngineOptions)}


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Show the conformance figure at the end of the run (set by test_conformance)."""
    figure = getattr(config, "_rhai_conformance", None)
    if figure:
        terminalreporter.write_line(figure)


def shared_dir() -> Path:
    """The read-only project docs directory (``PICLOUD_SHARED_DIR`` overrides)."""
    env = os.environ.get("PICLOUD_SHARED_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared"


def require_shared(*parts: str) -> Path:
    """The path of a shared file; skip (fail under CI) when it is absent."""
    path = shared_dir().joinpath(*parts)
    if not path.exists():
        msg = f"{path} not found: set PICLOUD_SHARED_DIR to the project's shared/ directory"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def load_corpus() -> list[dict[str, Any]]:
    """Every conformance vector, in file order."""
    path = require_shared("rhai-conformance", "corpus.jsonl")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def make_options(opts: dict[str, Any]) -> EngineOptions:
    """``EngineOptions`` from a vector's option keys."""
    kw = {k: v for k, v in opts.items() if k in _OPTION_NAMES}
    if "disabled_symbols" in kw:
        kw["disabled_symbols"] = frozenset(kw["disabled_symbols"])
    return EngineOptions(**kw)


def typed_value(tv: dict[str, Any]) -> Any:
    """A Python value from a ``{"type", "value"}`` pair."""
    t: str = tv["type"]
    v: Any = tv.get("value")
    if t == "int":
        return int(v)
    if t == "float":
        return float(v)
    if t == "char":
        return Char(v)
    if t == "unit":
        return None
    if t == "blob":
        return bytearray(v)
    if t == "array":
        return [typed_value(x) for x in v]
    if t == "map":
        return {k: typed_value(x) for k, x in (v or {}).items()}
    return v


_TYPES = {
    "int": int,
    "float": float,
    "bool": bool,
    "string": str,
    "char": Char,
    "unit": type(None),
    "array": list,
    "blob": bytearray,
    "map": dict,
}


def type_matches(value: Any, tname: str) -> bool:
    """Whether a result has the corpus type ``tname``."""
    want = _TYPES.get(tname)
    return want is None or type(value) is want


def value_matches(value: Any, expect: dict[str, Any]) -> str | None:
    """``None`` when ``value`` satisfies a typed expectation, else a reason."""
    t = expect["type"]
    if t == "ok":
        return None
    if not type_matches(value, t):
        return f"type {type(value).__name__} != {t} (value {value!r})"
    want = expect.get("value")
    if "length" in expect:
        n = len(value.encode("utf-8")) if isinstance(value, str) else len(value)
        if n != expect["length"]:
            return f"length {n} != {expect['length']}"
    if t == "map":
        for k, tv in (expect.get("entries") or {}).items():
            if k not in value:
                return f"missing key {k}"
            r = value_matches(value[k], tv)
            if r:
                return f"key {k}: {r}"
        return None
    if want is None:
        return None
    if t == "float":
        tol = expect.get("tolerance")
        if tol is not None:
            return None if abs(value - want) <= tol else f"{value!r} != {want!r} ± {tol}"
        if math.isnan(want) and math.isnan(value):
            return None
        return None if value == want else f"{value!r} != {want!r}"
    if t == "array":
        if len(value) != len(want):
            return f"array length {len(value)} != {len(want)}"
        for i, (x, tv) in enumerate(zip(value, want)):
            r = value_matches(x, tv)
            if r:
                return f"[{i}]: {r}"
        return None
    if t == "blob":
        return None if list(value) == want else f"{list(value)} != {want}"
    return None if value == want else f"{value!r} != {want!r}"


def error_matches(err: RhaiError, want: dict[str, Any] | None) -> str | None:
    """``None`` when a raised error satisfies an error expectation."""
    if not want or "kind" not in want:
        return None
    if err.kind != want["kind"]:
        return f"error {err.kind} ({err.message}) != {want['kind']}"
    if (
        isinstance(err, ErrorParsing)
        and want.get("parse_error")
        and err.parse_error != want["parse_error"]
    ):
        return f"parse error {err.parse_error} != {want['parse_error']}"
    inner = want.get("inner")
    if inner and "kind" in inner:
        got = err.fields.get("inner")
        if not isinstance(got, RhaiError):
            return "no inner error"
        return error_matches(got, inner)
    return None


def run_api(engine: Engine, api: str, script: str, scope: Scope | None) -> Any:
    """Run ``script`` the way a vector's ``api`` says."""
    if api == "run":
        engine.run(script, scope)
        return None
    if api == "compile":
        engine.compile(script, scope)
        return None
    if api == "eval_expression":
        return engine.eval_expression(script, scope)
    if api == "compile_expression":
        engine.compile_expression(script, scope)
        return None
    return engine.eval(script, scope)


def run_vector(vec: dict[str, Any]) -> str | None:
    """Run one corpus vector; ``None`` when it passes, else why not."""
    opts = vec.get("options") or {}
    options = make_options(opts)
    engine = Engine(options)
    engine.on_print(lambda s: None).on_debug(lambda s: None)
    scope: Scope | None = None
    if "scope" in opts:
        scope = Scope()
        for step in opts["scope"]:
            op = step["op"]
            if op == "push":
                scope.push(step["name"], typed_value(step["value"]))
            elif op == "push_constant":
                scope.push_constant(step["name"], typed_value(step["value"]))
            elif op == "set":
                scope.set(step["name"], typed_value(step["value"]))
            elif op == "run":
                step_engine = engine
                if "options" in step:
                    step_engine = Engine(make_options(step["options"]))
                    step_engine.on_print(lambda s: None).on_debug(lambda s: None)
                try:
                    run_api(step_engine, step.get("api", "run"), step["script"], scope)
                except RhaiError:
                    pass
    expect = vec["expect"]
    api = opts.get("api", "eval")
    try:
        value = run_api(engine, api, vec["script"], scope)
    except RhaiError as err:
        if expect["type"] != "error":
            return f"raised {err.kind}: {err}"
        return error_matches(err, expect.get("value"))
    if expect["type"] == "error":
        want = expect.get("value") or {}
        req = want.get("requested_type")
        if (
            req
            and not type_matches(value, req)
            and want.get("kind") in (None, "ErrorMismatchOutputType")
        ):
            return None
        return f"expected error, got {value!r}"
    return value_matches(value, expect)
