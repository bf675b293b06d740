"""Every conformance vector through the parser: parse errors where Rhai reports them, else an AST.

The corpus lives in the shared project docs (never copied into the repo):
``<repo>/../shared/rhai-conformance/corpus.jsonl``, or ``$PICLOUD_SHARED_DIR``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from picloud.rhai import nodes
from picloud.rhai.errors import ErrorParsing
from picloud.rhai.options import EngineOptions
from picloud.rhai.parser import parse

SHARED = Path(os.environ.get("PICLOUD_SHARED_DIR") or Path(__file__).parents[2].parent / "shared")
CORPUS = SHARED / "rhai-conformance" / "corpus.jsonl"

#: Vectors whose expectation is only a generic error (or a type request) but which
#: Rhai rejects at parse time; the parser must raise ErrorParsing for them.
UNLABELLED_PARSE_ERRORS: dict[str, str] = {
    "bool_op::test_bool_op3::1": "`false || 123`: MismatchedType, a number can never be a boolean",
    "bool_op::test_bool_op3::3": "`123 && ...`: MismatchedType, a number can never be a boolean",
    "chars::test_chars::7": "`'\\uhello'`: MalformedEscapeSequence",
    "chars::test_chars::8": "`''`: MalformedChar",
    "expressions::test_expressions::5": "expression mode: a closure body block cannot hold `let`",
    "expressions::test_expressions::6": "expression mode: an if-branch block cannot hold `let`",
    "expressions::test_expressions::7": "expression mode: an else-branch block cannot hold `let`",
    "expressions::test_expressions::8": "expression mode: an empty block is not an expression",
    "expressions::test_expressions::10": "expression mode: a switch arm cannot be a statement block",
    "functions::test_functions::13": "`fn` followed by an unterminated comment: no function name",
    "looping::test_loop_expression::2": "allow_loop_expressions off: `let v = while ...`",
    "unit::test_unit_with_spaces::1": "`( )` is not the unit literal",
}

#: Known failures: vector id → reason. Keep empty unless a gap is understood and tracked.
KNOWN_FAILURES: dict[str, str] = {}

_OPTION_KEYS = {f for f in EngineOptions.__dataclass_fields__}


def _load() -> list[dict[str, Any]]:
    if not CORPUS.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"conformance corpus not found at {CORPUS} (set PICLOUD_SHARED_DIR)")
        pytest.skip(f"conformance corpus not found at {CORPUS}; set PICLOUD_SHARED_DIR to run it")
    with CORPUS.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _options(raw: dict[str, Any]) -> EngineOptions:
    """The vector's engine options (only the ones EngineOptions knows)."""
    kwargs = {k: v for k, v in raw.items() if k in _OPTION_KEYS}
    if "disabled_symbols" in kwargs:
        kwargs["disabled_symbols"] = frozenset(kwargs["disabled_symbols"])
    return EngineOptions(**kwargs)


def _scope_names(raw: dict[str, Any]) -> list[str]:
    """Names the host scope holds when the vector's script is parsed.

    ``push``/``set`` steps add a name; a ``run`` step adds the top-level ``let``s
    of its script (Rhai keeps them in the scope after a run).
    """
    names: list[str] = []
    for step in raw.get("scope") or []:
        if step["op"] in ("push", "push_constant", "set"):
            names.append(step["name"])
        elif step["op"] == "run":
            api = step.get("api")
            opts = _options(step.get("options") or {})
            try:
                script = parse(
                    step["script"],
                    opts,
                    expression_only=api in ("eval_expression", "compile_expression"),
                    scope_names=names,
                )
            except ErrorParsing:
                continue
            names.extend(s.name for s in script.statements if isinstance(s, nodes.Let))
    return names


def _expects_parse_error(vector: dict[str, Any]) -> bool:
    expect = vector["expect"]
    if expect["type"] != "error":
        return False
    value = expect.get("value") or {}
    return value.get("kind") == "ErrorParsing" or vector["id"] in UNLABELLED_PARSE_ERRORS


def _vectors() -> list[Any]:
    try:
        vectors = _load()
    except pytest.skip.Exception:  # pragma: no cover - no corpus: one skipped placeholder
        return [pytest.param(None, id="corpus-missing")]
    params = []
    for v in vectors:
        marks = []
        if v["id"] in KNOWN_FAILURES:
            marks.append(pytest.mark.xfail(reason=KNOWN_FAILURES[v["id"]], strict=True))
        params.append(pytest.param(v, id=v["id"], marks=marks))
    return params


@pytest.mark.parametrize("vector", _vectors())
def test_corpus_vector_parses_as_rhai_does(vector: dict[str, Any] | None) -> None:
    """Given a corpus vector, when it is parsed with its options, then it fails exactly when Rhai's parser does."""
    if vector is None:
        _load()  # skips (or fails under CI) with the reason
        return
    raw = vector["options"]
    options = _options(raw)
    expression_only = raw.get("api") in ("eval_expression", "compile_expression")
    names = _scope_names(raw)
    if _expects_parse_error(vector):
        with pytest.raises(ErrorParsing) as info:
            parse(vector["script"], options, expression_only=expression_only, scope_names=names)
        value = vector["expect"].get("value") or {}
        if value.get("parse_error"):
            assert info.value.parse_error == value["parse_error"], info.value
        if value.get("lex_error"):
            assert info.value.lex_error == value["lex_error"], info.value
    else:
        script = parse(
            vector["script"], options, expression_only=expression_only, scope_names=names
        )
        assert isinstance(script, nodes.Script)


def test_unlabelled_parse_errors_exist_in_the_corpus() -> None:
    """Given the list of unlabelled parse errors, then every id names a real vector (no stale entries)."""
    ids = {v["id"] for v in _load()}
    assert set(UNLABELLED_PARSE_ERRORS) <= ids
    assert set(KNOWN_FAILURES) <= ids
