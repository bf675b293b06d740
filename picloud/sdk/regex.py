"""``regex::``: matching with bounded pattern size, compile cost and matching time.

Patterns use the syntax of the ``regex`` PyPI package (a superset of Python's
``re``). Three guards keep a hostile pattern from stalling a worker:

* a pattern is at most ``MAX_PATTERN_CHARS`` characters;
* counted repetitions may expand it to at most ``MAX_EXPANDED_ATOMS`` atoms
  (``(a{1000}){1000}`` compiles into a million-character program, and compiling
  cannot be interrupted);
* every match operation runs with the package's ``timeout=`` (catastrophic
  backtracking ends with ``regex: … timed out``) and ``concurrent=True``, which
  releases the GIL while matching so the server's event loop keeps answering.

Replacement strings use ``$1``, ``${1}``, ``$name``, ``${name}`` and ``$$`` (as
Rust's regex crate does); a group that did not take part becomes ``""``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import regex as _rx  # type: ignore[import-untyped]

from picloud.sdk._common import fail, namespace, want_str

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_EXPANDED_ATOMS",
    "MAX_OUTPUT_CHARS",
    "MAX_PATTERN_CHARS",
    "expanded_size",
    "regex_members",
]

_P = "regex"
#: Longest pattern accepted, in characters.
MAX_PATTERN_CHARS = 1000
#: Largest program a pattern may expand to through counted repetitions.
MAX_EXPANDED_ATOMS = 10_000
#: Longest ``replace`` result when the engine sets no string limit.
MAX_OUTPUT_CHARS = 16 * 1024 * 1024
#: Seconds one match operation may run (the package checks it while backtracking).
DEFAULT_TIMEOUT = 0.04

_COUNT = re.compile(r"\{(\d*)(?:,(\d*))?\}")
# Verbose mode (``x``: ``#`` comments may hide parentheses) and version 1 (``V1``:
# nested sets) would make ``expanded_size`` misread the structure, so both are refused.
_UNSUPPORTED_FLAGS = re.compile(r"\(\?[a-zA-Z^-]*[xV]")
_ESCAPE_WITH_BRACES = frozenset("pPNxuUgX")


def expanded_size(pattern: str) -> int:
    """An upper estimate of the atoms ``pattern`` compiles to, counted repetitions unrolled."""
    frames: list[list[int]] = [[]]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            if i - 1 < n and pattern[i - 1] in _ESCAPE_WITH_BRACES and i < n and pattern[i] in "{<":
                close = pattern.find("}" if pattern[i] == "{" else ">", i)
                i = n if close < 0 else close + 1
            frames[-1].append(1)
            continue
        if c == "[":
            i = _skip_class(pattern, i)
            frames[-1].append(1)
            continue
        if c == "(":
            if pattern.startswith("(?", i):
                i, opened, atom = _group_header(pattern, i)
                if opened:
                    frames.append([])
                elif atom:
                    frames[-1].append(1)
                continue
            frames.append([])
        elif c == ")":
            inner = frames.pop() if len(frames) > 1 else []
            frames[-1].append(max(1, sum(inner)))
        elif c == "{":
            m = _COUNT.match(pattern, i)
            if m is not None and (m.group(1) or m.group(2)) and frames[-1]:
                low = int(m.group(1) or 0)
                high = int(m.group(2)) if m.group(2) else low
                frames[-1][-1] *= max(1, low, high)
                i = m.end()
                continue
            frames[-1].append(1)
        elif c not in "|*+?":
            frames[-1].append(1)
        i += 1
    return sum(sum(f) for f in frames)


def _group_header(pattern: str, i: int) -> tuple[int, bool, bool]:
    """Skip a ``(?…`` header: ``(index after it, opens a group, is a one-atom reference)``."""
    n = len(pattern)
    j = i + 2
    if pattern.startswith("#", j):  # (?#comment)
        close = pattern.find(")", j)
        return (n if close < 0 else close + 1), False, False
    if pattern.startswith(("<=", "<!"), j):  # lookbehind
        return j + 2, True, False
    if pattern.startswith(("P<", "<", "'"), j):  # named group
        end = pattern.find("'" if pattern[j] == "'" else ">", j + 1)
        return (n if end < 0 else end + 1), True, False
    if j < n and pattern[j] in "=!:>|":  # lookahead, non-capturing, atomic, branch reset
        return j + 1, True, False
    if j < n and (pattern[j] in "P&R+" or pattern[j].isdigit()):  # backreference or recursion
        close = pattern.find(")", j)
        return (n if close < 0 else close + 1), False, True
    while j < n and (pattern[j].isalpha() or pattern[j] in "-^"):  # inline flags
        j += 1
    if j < n and pattern[j] == ":":
        return j + 1, True, False
    return (j + 1 if j < n else n), False, False


def _skip_class(pattern: str, i: int) -> int:
    """The index after the (version 0) character class starting at ``pattern[i] == "["``.

    In version 0 a ``[`` inside a class is literal, except POSIX ``[:name:]``;
    ``_compile`` refuses the inline ``V1`` flag, under which sets could nest.
    """
    n = len(pattern)
    i += 1
    if i < n and pattern[i] == "^":
        i += 1
    if i < n and pattern[i] == "]":
        i += 1
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[" and pattern.startswith("[:", i):
            close = pattern.find(":]", i + 2)
            if close >= 0:
                i = close + 2
                continue
        if c == "]":
            return i + 1
        i += 1
    return n


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> Any:
    if len(pattern) > MAX_PATTERN_CHARS:
        fail(_P, f"pattern is longer than {MAX_PATTERN_CHARS} characters")
    if _UNSUPPORTED_FLAGS.search(pattern):
        fail(_P, "the inline flags x (verbose) and V (version) are not supported")
    if expanded_size(pattern) > MAX_EXPANDED_ATOMS:
        fail(
            _P,
            "pattern repeats too much (counted repetitions expand beyond "
            f"{MAX_EXPANDED_ATOMS} atoms)",
        )
    try:
        return _rx.compile(pattern, _rx.V0)
    except _rx.error as e:
        fail(_P, f"invalid pattern: {e}")
    except (OverflowError, ValueError, RecursionError, MemoryError):
        fail(_P, "invalid pattern: too complex")


def _expand(template: str, m: Any) -> str:
    """Rust-style ``$group`` expansion of a replacement for one match."""
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            close = template.find("}", i + 2)
            if close < 0:
                out.append(c)
                i += 1
                continue
            name, i = template[i + 2 : close], close + 1
        else:
            j = i + 1
            while j < n and (
                template[j].isascii() and (template[j].isalnum() or template[j] == "_")
            ):
                j += 1
            if j == i + 1:
                out.append(c)
                i += 1
                continue
            name, i = template[i + 1 : j], j
        out.append(_group(m, name))
    return "".join(out)


def _group(m: Any, name: str) -> str:
    try:
        value = m.group(int(name) if name.isdigit() else name)
    except (IndexError, _rx.error):
        return ""
    return value or ""


class _TooLarge(Exception):
    """A replacement outgrew its budget (internal; becomes a ``regex:`` error)."""


class _Ops:
    """The ``regex::`` functions, bound to a matching timeout and an output budget."""

    def __init__(self, timeout: float, max_output_chars: int) -> None:
        self.timeout = timeout
        self.max_output_chars = max_output_chars

    def _args(self, fn: str, pattern: Any, text: Any) -> tuple[Any, str]:
        compiled = _compile(want_str(_P, fn, pattern, "a pattern string"))
        return compiled, want_str(_P, fn, text, "a string to search")

    def _run(self, fn: str, op: Callable[[], Any]) -> Any:
        try:
            return op()
        except TimeoutError:
            fail(_P, f"{fn}: matching timed out (pattern too expensive for this input)")

    def is_match(self, pattern: Any, text: Any) -> bool:
        """``regex::is_match(pattern, text)``: whether the pattern matches anywhere."""
        rx, s = self._args("is_match", pattern, text)
        return bool(
            self._run(
                "is_match", lambda: rx.search(s, timeout=self.timeout, concurrent=True) is not None
            )
        )

    def find(self, pattern: Any, text: Any) -> Any:
        """``regex::find(pattern, text)``: the first match's text, or ``()``."""
        rx, s = self._args("find", pattern, text)
        m = self._run("find", lambda: rx.search(s, timeout=self.timeout, concurrent=True))
        return None if m is None else m.group(0)

    def find_all(self, pattern: Any, text: Any) -> list[str]:
        """``regex::find_all(pattern, text)``: every non-overlapping match's text."""
        rx, s = self._args("find_all", pattern, text)
        return list(
            self._run(
                "find_all",
                lambda: [m.group(0) for m in rx.finditer(s, timeout=self.timeout, concurrent=True)],
            )
        )

    def captures(self, pattern: Any, text: Any) -> Any:
        """``regex::captures(pattern, text)``: ``[whole, group1, …]`` of the first match, or ``()``."""
        rx, s = self._args("captures", pattern, text)
        m = self._run("captures", lambda: rx.search(s, timeout=self.timeout, concurrent=True))
        if m is None:
            return None
        return [m.group(0), *m.groups()]

    def captures_named(self, pattern: Any, text: Any) -> Any:
        """``regex::captures_named(pattern, text)``: named groups of the first match as a map, or ``()``."""
        rx, s = self._args("captures_named", pattern, text)
        m = self._run("captures_named", lambda: rx.search(s, timeout=self.timeout, concurrent=True))
        if m is None:
            return None
        named = m.groupdict()
        return {k: named[k] for k in sorted(named)}

    def replace(self, pattern: Any, text: Any, repl: Any) -> str:
        """``regex::replace(pattern, text, repl)``: every match replaced (``$1``/``${name}`` expand)."""
        return self._replace("replace", pattern, text, repl, 0)

    def replace_first(self, pattern: Any, text: Any, repl: Any) -> str:
        """``regex::replace_first(pattern, text, repl)``: the first match replaced."""
        return self._replace("replace_first", pattern, text, repl, 1)

    def _replace(self, fn: str, pattern: Any, text: Any, repl: Any, count: int) -> str:
        rx, s = self._args(fn, pattern, text)
        template = want_str(_P, fn, repl, "a replacement string")
        expand = "$" in template
        # An empty pattern matches between every character: a long replacement could
        # otherwise multiply the text's size before any size check sees the result.
        budget = [self.max_output_chars - len(s)]

        def replacement(m: Any) -> str:
            piece = _expand(template, m) if expand else template
            budget[0] -= len(piece)
            if budget[0] < 0:
                raise _TooLarge
            return piece

        try:
            out = self._run(
                fn,
                lambda: rx.sub(replacement, s, count=count, timeout=self.timeout, concurrent=True),
            )
        except _TooLarge:
            fail(_P, f"{fn}: result would be longer than {self.max_output_chars} characters")
        return str(out)

    def split(self, pattern: Any, text: Any) -> list[str]:
        """``regex::split(pattern, text)``: the pieces between matches (groups are not included)."""
        rx, s = self._args("split", pattern, text)

        def pieces() -> list[str]:
            out: list[str] = []
            last = 0
            for m in rx.finditer(s, timeout=self.timeout, concurrent=True):
                start, end = m.span()
                if start == end == 0 or (start == end and start == len(s)):
                    continue
                out.append(s[last:start])
                last = end
            out.append(s[last:])
            return out

        return list(self._run("split", pieces))


def regex_members(
    timeout: float = DEFAULT_TIMEOUT, *, max_output_chars: int | None = None
) -> dict[str, Callable[..., Any]]:
    """The ``regex::`` namespace: ``timeout`` seconds per match, replacements capped in length."""
    ops = _Ops(timeout, max_output_chars or MAX_OUTPUT_CHARS)
    names = (
        "is_match",
        "find",
        "find_all",
        "captures",
        "captures_named",
        "replace",
        "replace_first",
        "split",
    )
    return namespace(_P, {name: getattr(ops, name) for name in names})
