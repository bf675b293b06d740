"""String and char functions (Rhai's ``MoreStringPackage`` and char helpers).

Positions and lengths count characters, never bytes. "Mutating" functions
return ``(new_string, result)`` because Python strings are immutable.
"""

from __future__ import annotations

import re
from typing import Any

from picloud.rhai.builtins._util import range_start_len, too_large
from picloud.rhai.builtins.registry import CallContext, Library
from picloud.rhai.values import INT_MAX, Char, RhaiRange, to_display

__all__ = ["register", "rust_rsplit", "rust_rsplitn", "rust_split", "rust_splitn", "sub_string"]

S, C, I = str, Char, int
Any_ = None  # wildcard parameter


# Rust's `char::is_whitespace` (Unicode White_Space); Python's isspace adds U+001C..U+001F.
_WS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)


_PY_ONLY_WS = re.compile("[\x1c-\x1f]")
_WS_RUN = re.compile(f"[{_WS}]+")


def _trim(s: str) -> tuple[str, None]:
    return s.strip(_WS), None


# --------------------------------------------------------------------------- case


def _upper(s: str) -> str:
    return str(s.upper())


def _lower(s: str) -> str:
    return str(s.lower())


def _upper_char(c: str) -> Char:
    u = c.upper()
    return Char(u) if len(u) == 1 else Char(c)


def _lower_char(c: str) -> Char:
    u = c.lower()
    return Char(u) if len(u) == 1 else Char(c)


# --------------------------------------------------------------------------- slicing


def _start(n: int, start: int) -> int:
    """A char offset for ``start`` (negative from the end); ``-1`` when past the end."""
    if start < 0:
        return max(n + start, 0)
    return start if start < n else -1


def sub_string(s: str, start: int, length: int) -> str:
    """``length`` chars from ``start`` (negative counts from the end), clamped."""
    if not s or length <= 0:
        return ""
    off = _start(len(s), start)
    if off < 0:
        return ""
    return s[off : off + length]


def _sub_string_from(s: str, start: int) -> str:
    return sub_string(s, start, INT_MAX)


def _sub_string_range(s: str, r: RhaiRange) -> str:
    a, n = range_start_len(r)
    return sub_string(s, a, n)


def _index_of(s: str, find: str, start: int = 0) -> int:
    if not s:
        return -1
    if start:
        start = _start(len(s), start)
        if start < 0:
            return -1
    return s.find(find, start)


def _get(s: str, i: int) -> Any:
    n = len(s)
    if i < 0:
        i += n
        if i < 0:
            return None
    return Char(s[i]) if i < n else None


def _set(s: str, i: int, c: str) -> tuple[str, None]:
    n = len(s)
    if i < 0:
        i += n
        if i < 0:
            return s, None
    if i >= n:
        return s, None
    return s[:i] + c + s[i + 1 :], None


# --------------------------------------------------------------------------- splitting


def rust_split(s: str, d: str) -> list[str]:
    """Rust ``str::split`` (an empty delimiter matches at every char boundary)."""
    if d == "":
        return ["", *s, ""]
    return s.split(d)


def rust_splitn(s: str, n: int, d: str) -> list[str]:
    """Rust ``str::splitn``: at most ``n`` pieces, the last one is the remainder."""
    if d == "":
        full = ["", *s, ""]
        if n >= len(full):
            return full
        return ["", *s[: n - 2], s[n - 2 :]]
    return s.split(d, n - 1)


def rust_rsplit(s: str, d: str) -> list[str]:
    """Rust ``str::rsplit``: pieces from the right."""
    if d == "":
        return ["", *reversed(s), ""]
    return s.rsplit(d)[::-1]


def rust_rsplitn(s: str, n: int, d: str) -> list[str]:
    """Rust ``str::rsplitn``: at most ``n`` pieces from the right."""
    if d == "":
        full = ["", *reversed(s), ""]
        if n >= len(full):
            return full
        k = len(s) - (n - 2)
        return ["", *reversed(s[k:]), s[:k]]
    return s.rsplit(d, n - 1)[::-1]


def _split(s: str, d: str) -> list[Any]:
    if not s or (d and d not in s):
        return [s]
    return rust_split(s, d)


def _splitn(s: str, d: str, n: int) -> list[Any]:
    if n <= 1 or not s or (d and d not in s):
        return [s]
    return rust_splitn(s, n, d)


def _split_rev(s: str, d: str) -> list[Any]:
    if not s or (d and d not in s):
        return [s]
    return rust_rsplit(s, d)


def _splitn_rev(s: str, d: str, n: int) -> list[Any]:
    if n <= 1 or not s or (d and d not in s):
        return [s]
    return rust_rsplitn(s, n, d)


def _split_at(s: str, i: int) -> list[Any]:
    n = len(s)
    if i <= 0:
        if -i > n:
            return ["", s]
        k = n + i
        return [s[:k], s[k:]]
    return [s[:i], s[i:]]


def _split_ws(s: str) -> list[Any]:
    if not s:
        return [s]
    if _PY_ONLY_WS.search(s) is None:
        return s.split()
    return [p for p in _WS_RUN.split(s) if p]


# --------------------------------------------------------------------------- mutators


def _pop(s: str) -> tuple[str, Any]:
    if not s:
        return s, None
    return s[:-1], Char(s[-1])


def _pop_n(s: str, n: int) -> tuple[str, str]:
    if not s or n <= 0:
        return s, ""
    if n < len(s):
        return s[:-n], s[-n:]
    return "", s


def _truncate(s: str, n: int) -> tuple[str, None]:
    return (s[:n] if n > 0 else ""), None


def _crop(s: str, start: int, length: int) -> tuple[str, None]:
    if not s:
        return s, None
    return sub_string(s, start, length), None


def _crop_range(s: str, r: RhaiRange) -> tuple[str, None]:
    a, n = range_start_len(r)
    return _crop(s, a, n)


def _replace(s: str, find: str, sub: str) -> tuple[str, None]:
    if not s:
        return s, None
    # Python's replace matches Rust's, including an empty pattern at every boundary.
    return s.replace(find, sub), None


def _check_len(ctx: CallContext, n: int) -> None:
    limit = ctx.options.max_string_size
    if limit and n > limit:
        raise too_large("Length of string")


def _pad(ctx: CallContext, s: str, n: int, pad: str) -> tuple[str, None]:
    if n <= 0:
        return s, None
    _check_len(ctx, n)
    have = len(s)
    if n <= have or not pad:
        return s, None
    need = n - have
    fill = (pad * (need // len(pad) + 1))[:need]
    out = s + fill
    limit = ctx.options.max_string_size
    if limit and len(out.encode("utf-8")) > limit:
        raise too_large("Length of string")
    return out, None


def _append(s: str, x: Any) -> tuple[str, None]:
    t = type(x)
    if t is str or t is Char:
        return s + x, None
    if t is bytearray:
        return s + x.decode("utf-8", "replace"), None
    return s + to_display(x), None


# --------------------------------------------------------------------------- registry


def register(lib: Library) -> None:
    """Register the string and char functions."""
    r = lib.register
    m = {"mutating": True}
    # concatenation beyond the built-in operators: any value by its display form
    r("+", (S, Any_), lambda s, x: s + to_display(x))
    r("+", (Any_, S), lambda x, s: to_display(x) + s)
    r("+", (S, bytearray), lambda s, b: s + b.decode("utf-8", "replace"))
    r("+", (bytearray, S), lambda b, s: b.decode("utf-8", "replace") + s)
    for name in ("+=", "append"):
        r(name, (S, Any_), _append, **m)
    r("to_blob", (S,), lambda s: bytearray(s.encode("utf-8")))
    r("len", (S,), len)
    r("is_empty", (S,), lambda s: not s)
    r("bytes", (S,), lambda s: len(s.encode("utf-8")))
    r("to_chars", (S,), lambda s: [Char(c) for c in s])
    r("remove", (S, S), lambda s, x: (s.replace(x, "") if x else s, None), **m)
    r("remove", (S, C), lambda s, x: (s.replace(x, ""), None), **m)
    r("clear", (S,), lambda s: ("", None), **m)
    r("truncate", (S, I), _truncate, **m)
    r("trim", (S,), _trim, **m)
    r("pop", (S,), _pop, **m)
    r("pop", (S, I), _pop_n, **m)
    r("to_upper", (S,), _upper)
    r("to_lower", (S,), _lower)
    r("make_upper", (S,), lambda s: (_upper(s), None), **m)
    r("make_lower", (S,), lambda s: (_lower(s), None), **m)
    r("to_upper", (C,), _upper_char)
    r("to_lower", (C,), _lower_char)
    r("make_upper", (C,), lambda c: (_upper_char(c), None), **m)
    r("make_lower", (C,), lambda c: (_lower_char(c), None), **m)
    for t in (S, C):
        r("contains", (S, t), str.__contains__)
        r("starts_with", (S, t), str.startswith)
        r("ends_with", (S, t), str.endswith)
        r("index_of", (S, t), _index_of)
        r("index_of", (S, t, I), _index_of)
    r("get", (S, I), _get)
    r("set", (S, I, C), _set, **m)
    r("sub_string", (S, I, I), sub_string)
    r("sub_string", (S, I), _sub_string_from)
    r("sub_string", (S, RhaiRange), _sub_string_range)
    r("crop", (S, I, I), _crop, **m)
    r("crop", (S, I), lambda s, a: _crop(s, a, INT_MAX), **m)
    r("crop", (S, RhaiRange), _crop_range, **m)
    for f in (S, C):
        for t in (S, C):
            r("replace", (S, f, t), _replace, **m)
    r("pad", (S, I, C), _pad, needs_ctx=True, **m)
    r("pad", (S, I, S), _pad, needs_ctx=True, **m)
    r("max", (S, S), lambda a, b: max(a, b))
    r("min", (S, S), lambda a, b: min(a, b))
    r("max", (C, C), lambda a, b: max(a, b))
    r("min", (C, C), lambda a, b: min(a, b))
    r("split", (S,), _split_ws)
    r("split", (S, I), _split_at)
    for t in (S, C):
        r("split", (S, t), _split)
        r("split", (S, t, I), _splitn)
        r("split_rev", (S, t), _split_rev)
        r("split_rev", (S, t, I), _splitn_rev)
