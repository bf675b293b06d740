"""Property-based fuzzing: whatever the source, the engine raises only Rhai errors.

Token soup (random sequences of Rhai tokens) and mutated corpus scripts go
through compile and run on a tightly limited engine. Deterministic
(``derandomize``) so CI is stable; bounded to stay well under ~30 s.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picloud.rhai import Engine, SandboxPolicy
from picloud.rhai.errors import RhaiError

TOKENS = [
    "let", "const", "fn", "if", "else", "while", "loop", "for", "in", "do", "until", "break", "continue",
    "return", "throw", "try", "catch", "switch", "import", "export", "as", "private", "this", "true",
    "false", "Fn", "call", "curry", "eval", "print", "debug", "type_of", "global", "x", "y", "f", "a",
    "0", "1", "-1", "42", "9223372036854775807", "1.5", "0.0", "1e300", '"s"', "'c'", "`t${x}`",
    "(", ")", "{", "}", "[", "]", "#{", ",", ";", ":", "::", ".", "?.", "?[", "=>", "|", "||", "&&",
    "!", "+", "-", "*", "/", "%", "**", "<<", ">>", "&", "^", "==", "!=", "<", "<=", ">", ">=", "??",
    "..", "..=", "=", "+=", "-=", "*=", "/=", "_", "\n", " ",
]  # fmt: skip

SETTINGS = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz_engine() -> Engine:
    """An engine whose limits make every generated script end quickly."""
    opts = SandboxPolicy().options(
        max_operations=20_000,
        max_run_seconds=1.0,
        max_string_size=10_000,
        max_array_size=1_000,
        max_map_size=1_000,
        max_call_levels=32,
    )
    e = Engine(opts)
    e.on_print(lambda s: None).on_debug(lambda s: None)
    return e


ENGINE = fuzz_engine()


def run_only_rhai_errors(src: str) -> None:
    """Compile and run ``src``; anything but a ``RhaiError`` fails the property."""
    try:
        ENGINE.eval(src)
    except RhaiError:
        pass


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40).map(" ".join))
def test_token_soup_raises_only_rhai_errors(src: str) -> None:
    # Given any sequence of Rhai tokens, when it is compiled and run, then only Rhai errors escape
    run_only_rhai_errors(src)


def _corpus_scripts() -> list[str]:
    env = os.environ.get("PICLOUD_SHARED_DIR")
    base = Path(env) if env else Path(__file__).resolve().parents[3] / "shared"
    path = base / "rhai-conformance" / "corpus.jsonl"
    if not path.exists():
        return ["let x = [1, 2, 3]; x[1] + 40", "fn f(a) { a * 2 } f(21)", "let m = #{a: 1}; m.a"]
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["script"] for line in fh if line.strip()]


CORPUS = _corpus_scripts()


@st.composite
def mutated_script(draw: st.DrawFn) -> str:
    """A corpus script with a few characters deleted, replaced or inserted."""
    src = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 4))):
        if not src:
            break
        i = draw(st.integers(0, len(src) - 1))
        op = draw(st.sampled_from(["delete", "replace", "insert", "token"]))
        if op == "delete":
            src = src[:i] + src[i + 1 :]
        elif op == "replace":
            src = (
                src[:i]
                + draw(st.sampled_from("(){}[];,.+-*/%<>=!&|^'\"`$#:?0123456789xa_ \n"))
                + src[i + 1 :]
            )
        elif op == "insert":
            src = src[:i] + draw(st.sampled_from("(){}[];,.+-*/<>=!'\"`$#:?01x \n")) + src[i:]
        else:
            src = src[:i] + " " + draw(st.sampled_from(TOKENS)) + " " + src[i:]
    return src


@SETTINGS
@given(mutated_script())
def test_mutated_corpus_scripts_raise_only_rhai_errors(src: str) -> None:
    # Given a corpus script with random edits, when it runs, then only Rhai errors escape
    run_only_rhai_errors(src)


_ = sys
