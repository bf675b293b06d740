"""``regex::`` through real scripts, including hostile patterns that must fail fast."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picloud.rhai import Engine, Scope
from picloud.rhai.errors import RhaiError
from picloud.sdk.regex import MAX_EXPANDED_ATOMS, MAX_PATTERN_CHARS, _compile, expanded_size

#: A bound that only proves a call terminates (a hostile pattern without the
#: guards runs for minutes). Speed is not asserted in tests; the busy CI box
#: must not turn scheduling noise into failures.
NEVER_HANGS_S = 3.0


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (r'regex::is_match("^\\d+$", "12345")', True),
        (r'regex::is_match("\\d", "abc")', False),
        (r'regex::is_match("(?i)HELLO", "say hello")', True),
        (r'regex::find("\\d+", "ab 12 cd 345")', "12"),
        (r'regex::find("\\d+", "none")', None),
        (r'regex::find_all("\\d+", "ab 12 cd 345")', ["12", "345"]),
        (r'regex::find_all("x", "abc")', []),
        (
            r'regex::captures("(\\w+)@(\\w+)\\.com", "mail bob@example.com now")',
            ["bob@example.com", "bob", "example"],
        ),
        (r'regex::captures("(a)(x)?", "ba")', ["a", "a", None]),
        (r'regex::captures("z", "ba")', None),
        (
            r'regex::captures_named("(?P<y>\\d{4})-(?P<m>\\d{2})", "on 2024-03")',
            {"m": "03", "y": "2024"},
        ),
        (r'regex::captures_named("(?P<y>\\d{4})", "no")', None),
        (r'regex::replace("\\d+", "a1b22c", "#")', "a#b#c"),
        (r'regex::replace("(\\d+)", "a1b22", "<$1>")', "a<1>b<22>"),
        (r'regex::replace("(?P<n>\\d+)", "a1b22", "${n}x")', "a1xb22x"),
        (r'regex::replace("(\\d)", "a1", "$$1 costs $")', "a$1 costs $"),
        (r'regex::replace("(\\d)", "a1", "[$9]")', "a[]"),
        (r'regex::replace("(\\d)", "a1", "[$1a]")', "a[]"),
        (r'regex::replace("(\\d)", "a1", "[${1}a]")', "a[1a]"),
        (r'regex::replace("(a)|(b)", "ab", "<$2>")', "<><b>"),
        (r'regex::replace_first("\\d", "1 2 3", "x")', "x 2 3"),
        (r'regex::replace("\\\\", "a\\b", "/")', "a/b"),
        (r'regex::split(",\\s*", "a, b,c")', ["a", "b", "c"]),
        (r'regex::split("(,)", "a,b")', ["a", "b"]),
        (r'regex::split(",", "")', [""]),
        (r'regex::split(",", ",a,")', ["", "a", ""]),
        (r'regex::split("", "abc")', ["a", "b", "c"]),
        ("regex::is_match('a', \"cat\")", True),
    ],
)
def test_regex_functions(engine: Engine, src: str, expected: Any) -> None:
    # Given the standard library, when a script uses regex::, then it gets these values
    assert engine.eval(src) == expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (r'regex::is_match("(", "x")', "regex: invalid pattern:"),
        (r'regex::is_match("a{4294967296}", "x")', "regex: "),
        ('regex::is_match(1, "x")', "regex: is_match expects a pattern string, got i64"),
        ('regex::find("a", ())', "regex: find expects a string to search, got ()"),
        ('regex::replace("a", "a", 1)', "regex: replace expects a replacement string, got i64"),
        ('regex::split("a", [])', "regex: split expects a string to search, got array"),
        ('regex::is_match("(?:a{1000}){1000}", "a")', "regex: pattern repeats too much"),
        (
            'regex::is_match("((((a{100}){100}){100}){100})", "a")',
            "regex: pattern repeats too much",
        ),
        ('regex::is_match("a{1000000}", "a")', "regex: pattern repeats too much"),
        # A bracket, a POSIX class or a comment must not hide a group from the size check
        ('regex::is_match("([[](a{1000})){1000}", "a")', "regex: pattern repeats too much"),
        (
            'regex::is_match("([[:alpha:])](a{1000})){1000}", "a")',
            "regex: pattern repeats too much",
        ),
        (
            'regex::is_match("(?x)(#)\\n a{1000}){1000}", "a")',
            "regex: the inline flags x (verbose)",
        ),
        (
            'regex::is_match("(?V1)([[]])a{1000}){1000}", "a")',
            "regex: the inline flags x (verbose)",
        ),
        ('regex::is_match("(?i-x:a)", "a")', "regex: the inline flags x (verbose)"),
        (
            'let p = ""; for i in 0..1001 { p += "a"; } regex::is_match(p, "a")',
            f"regex: pattern is longer than {MAX_PATTERN_CHARS} characters",
        ),
    ],
)
def test_regex_errors_are_catchable_with_the_regex_prefix(
    caught: Callable[[str], Any], expr: str, message: str
) -> None:
    # Given a failing regex:: call inside try/catch, then the handler gets the prefixed text
    got = caught(expr)
    assert isinstance(got, str) and got.startswith(message), got


#: Patterns that backtrack catastrophically on these inputs even in the ``regex`` package.
TIMING_OUT = [
    ("(a|aa)+$", "a" * 60 + "b"),
    ("(x+x+)+y", "x" * 5000),
    ("(a|aa)+b", ("a" * 25 + "c") * 50),
]
#: Classic ReDoS shapes the package optimises; they must simply never stall.
CLASSIC = [
    ("^(a+)+$", "a" * 40 + "!"),
    ("(.*a){25}", "a" * 5000 + "b"),
    ("(a|a?)+b", "a" * 5000),
    ("((a*)*)*b", "a" * 3000),
    ("^(\\w+\\s?)*$", "a" * 40 + "!"),
]
FUNCTIONS = ["is_match", "find", "find_all", "captures", "captures_named", "split"]


def _run_hostile(engine: Engine, fn: str, pattern: str, text: str) -> tuple[Any, float]:
    scope = Scope().push("p", pattern).push("t", text)
    args = 'p, t, "x"' if fn.startswith("replace") else "p, t"
    start = time.monotonic()
    got = engine.eval(
        f'let r = "<done>"; try {{ regex::{fn}({args}); }} catch (e) {{ r = e; }} r', scope
    )
    return got, time.monotonic() - start


@pytest.mark.parametrize(("pattern", "text"), TIMING_OUT)
@pytest.mark.parametrize("fn", [*FUNCTIONS, "replace", "replace_first"])
def test_hostile_patterns_fail_fast_with_a_catchable_error(
    engine: Engine, pattern: str, text: str, fn: str
) -> None:
    # Given a catastrophic-backtracking pattern and an input that triggers it
    # When a script matches it inside try/catch
    got, elapsed = _run_hostile(engine, fn, pattern, text)
    # Then it fails with the regex prefix (after the 40 ms match budget), never hangs
    assert got == f"regex: {fn}: matching timed out (pattern too expensive for this input)"
    assert elapsed < NEVER_HANGS_S, elapsed


@pytest.mark.parametrize(("pattern", "text"), CLASSIC)
@pytest.mark.parametrize("fn", FUNCTIONS)
def test_classic_redos_patterns_never_stall(
    engine: Engine, pattern: str, text: str, fn: str
) -> None:
    # Given a textbook ReDoS pattern, when a script matches it, then it ends promptly either way
    got, elapsed = _run_hostile(engine, fn, pattern, text)
    assert got == "<done>" or "timed out" in got
    assert elapsed < NEVER_HANGS_S, elapsed


@pytest.mark.parametrize(
    ("pattern", "size"),
    [
        ("abc", 3),
        ("a{3}", 3),
        ("(ab){2}", 4),
        ("(?:a{10}){10}", 100),
        ("[a-z]{5}", 5),
        (r"\d{2,4}", 4),
        (r"\p{L}{3}", 3),
        ("a{2,}", 2),
        ("a{,3}", 3),
        ("a{x}", 4),
        ("(?#comment)a", 1),
        ("[]a]{2}", 2),
        ("[[]a{3}", 4),
        ("[[:alpha:])]{3}", 3),
        ("[^]]{2}", 2),
        ("a|b*", 2),
        ("(?P<year>a){3}", 3),
        ("(?<n>a){3}", 3),
        ("(?i)a{3}", 3),
        ("(?i:ab){3}", 6),
        ("(?<=a)b{2}", 3),
        ("(?=ab)c", 3),
        (r"(a)\1{2}", 3),
        ("(?P=n){4}", 4),
    ],
)
def test_expanded_size_counts_unrolled_repetitions(pattern: str, size: int) -> None:
    # Given a pattern, then its size estimate counts counted repetitions multiplied out
    assert expanded_size(pattern) == size


def test_the_largest_allowed_expansion_still_compiles_quickly(engine: Engine) -> None:
    # Given a pattern right at the expansion limit, then it compiles and runs promptly
    start = time.monotonic()
    assert engine.eval(f'regex::is_match("(?:ab){{{MAX_EXPANDED_ATOMS // 2}}}", "ab")') is False
    assert time.monotonic() - start < NEVER_HANGS_S


def test_hostile_matching_does_not_starve_other_threads(engine: Engine) -> None:
    # Given a worker thread running a script that keeps hitting a catastrophic pattern
    stop = threading.Event()
    scope = Scope().push("t", "a" * 60 + "b")
    script = engine.compile(
        'let n = 0; while n < 3 { try { regex::is_match("(a|aa)+$", t); } catch { } n += 1; } n'
    )

    def burn() -> None:
        while not stop.is_set():
            engine.eval_ast(script, scope)

    worker = threading.Thread(target=burn)
    worker.start()
    try:
        # When this thread (standing in for the event loop) sleeps 1 ms at a time
        waits = []
        for _ in range(40):
            start = time.monotonic()
            time.sleep(0.001)
            waits.append(time.monotonic() - start)
    finally:
        stop.set()
        worker.join()
    # Then it wakes promptly: matching releases the GIL instead of holding it for the timeout
    waits.sort()
    assert waits[len(waits) // 2] < 0.02, waits


_TOKENS = [
    "a",
    "b",
    "[",
    "]",
    "^",
    "(",
    ")",
    "(?:",
    "(?i)",
    "[[:alpha:]]",
    "\\",
    "\\d",
    "{200}",
    "{2,90}",
    "{,50}",
    "|",
    "*",
    "?",
    "#",
    "\n",
    ":",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=24))
def test_any_pattern_the_size_check_accepts_compiles_quickly(tokens: list[str]) -> None:
    # Given any pattern built from structural pieces (brackets, groups, counts, escapes)
    pattern = "".join(tokens)
    start = time.monotonic()
    try:
        _compile(pattern)
    except RhaiError as e:
        # Then it is either refused with a regex: error
        assert e.message.startswith("regex: ")
    # Or it compiles (a misread structure would take minutes or exhaust memory)
    assert time.monotonic() - start < NEVER_HANGS_S, pattern
