"""BLOB functions (Rhai's ``BasicBlobPackage``): a blob is a ``bytearray``.

Writing an int stores its low byte; reading gives an int 0..255. Mutating
functions change the bytearray in place and return ``(blob, result)``.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import Any

from picloud.rhai.builtins._util import offset_len, range_start_len, too_large
from picloud.rhai.builtins.registry import CallContext, Library
from picloud.rhai.values import INT_MAX, Char, RhaiRange

__all__ = ["parse_int_bytes", "register", "write_int_bytes"]

B = bytearray
I, F, S, R = int, float, str, RhaiRange


def _blob(ctx: CallContext, n: int, v: int = 0) -> bytearray:
    if n <= 0:
        return bytearray()
    limit = ctx.options.max_array_size
    if limit and n > limit:
        raise too_large("Size of BLOB")
    return bytearray([v & 0xFF]) * n


def _get(b: bytearray, i: int) -> int:
    if not b:
        return 0
    i, _ = offset_len(len(b), i, 0)
    return b[i] if i < len(b) else 0


def _set(b: bytearray, i: int, v: int) -> tuple[bytearray, None]:
    if b:
        i, _ = offset_len(len(b), i, 0)
        if i < len(b):
            b[i] = v & 0xFF
    return b, None


def _push(b: bytearray, v: int) -> tuple[bytearray, None]:
    b.append(v & 0xFF)
    return b, None


def _extend(b: bytearray, x: Any) -> tuple[bytearray, None]:
    b.extend(x.encode("utf-8") if isinstance(x, str) else x)
    return b, None


def _insert(b: bytearray, i: int, v: int) -> tuple[bytearray, None]:
    i, _ = offset_len(len(b), i, 0)
    b.insert(i, v & 0xFF)
    return b, None


def _pad(ctx: CallContext, b: bytearray, n: int, v: int) -> tuple[bytearray, None]:
    if n <= 0:
        return b, None
    limit = ctx.options.max_array_size
    if limit and n > limit:
        raise too_large("Size of BLOB")
    if n > len(b):
        b.extend(bytes([v & 0xFF]) * (n - len(b)))
    return b, None


def _pop(b: bytearray) -> tuple[bytearray, int]:
    return b, (b.pop() if b else 0)


def _shift(b: bytearray) -> tuple[bytearray, int]:
    return b, (b.pop(0) if b else 0)


def _remove(b: bytearray, i: int) -> tuple[bytearray, int]:
    n = len(b)
    if i < 0:
        i += n
    return (b, b.pop(i)) if 0 <= i < n else (b, 0)


def _truncate(b: bytearray, n: int) -> tuple[bytearray, None]:
    del b[max(n, 0) :]
    return b, None


def _chop(b: bytearray, n: int) -> tuple[bytearray, None]:
    if n <= 0:
        b.clear()
    elif n < len(b):
        del b[: len(b) - n]
    return b, None


def _splice(b: bytearray, start: int, n: int, rep: bytearray) -> tuple[bytearray, None]:
    if not b:
        b.extend(rep)
        return b, None
    s, k = offset_len(len(b), start, n)
    if s >= len(b):
        b.extend(rep)
    else:
        b[s : s + k] = rep
    return b, None


def _extract(b: bytearray, start: int, n: int) -> bytearray:
    if not b or n <= 0:
        return bytearray()
    s, k = offset_len(len(b), start, n)
    return b[s : s + k]


def _split(b: bytearray, i: int) -> tuple[bytearray, bytearray]:
    if not b:
        return b, bytearray()
    s, _ = offset_len(len(b), i, INT_MAX)
    out = b[s:]
    del b[s:]
    return b, out


def _drain(b: bytearray, start: int, n: int) -> tuple[bytearray, bytearray]:
    if not b or n <= 0:
        return b, bytearray()
    s, k = offset_len(len(b), start, n)
    out = b[s : s + k]
    del b[s : s + k]
    return b, out


def _retain(b: bytearray, start: int, n: int) -> tuple[bytearray, bytearray]:
    if not b or n <= 0:
        return b, bytearray()
    s, k = offset_len(len(b), start, n)
    out = b[:s] + b[s + k :]
    b[:] = b[s : s + k]
    return b, out


def _span(b: bytearray, start: int, n: int) -> tuple[int, int]:
    if not b or n <= 0:
        return 0, 0
    return offset_len(len(b), start, n)


def parse_int_bytes(b: bytearray, start: int, n: int, little: bool) -> int:
    """Rhai's ``parse_le_int`` / ``parse_be_int``: up to 8 bytes into a zero-filled buffer."""
    s, k = _span(b, start, n)
    if k == 0:
        return 0
    buf = bytes(b[s : s + min(k, 8)]).ljust(8, b"\0")
    return int.from_bytes(buf, "little" if little else "big", signed=True)


def _parse_float(b: bytearray, start: int, n: int, little: bool) -> float:
    s, k = _span(b, start, n)
    if k == 0:
        return 0.0
    buf = bytes(b[s : s + min(k, 8)]).ljust(8, b"\0")
    return float(struct.unpack("<d" if little else ">d", buf)[0])


def write_int_bytes(b: bytearray, start: int, n: int, v: int, little: bool) -> None:
    """Rhai's ``write_le`` / ``write_be`` of an int: the first ``n`` (≤ 8) bytes of its encoding."""
    s, k = _span(b, start, n)
    if k == 0:
        return
    k = min(k, 8)
    b[s : s + k] = (v & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little" if little else "big")[:k]


def _write_float(b: bytearray, start: int, n: int, v: float, little: bool) -> None:
    s, k = _span(b, start, n)
    if k == 0:
        return
    k = min(k, 8)
    b[s : s + k] = struct.pack("<d" if little else ">d", v)[:k]


def _write_str(b: bytearray, start: int, n: int, text: str, ascii_only: bool) -> None:
    if n <= 0 or not b or not text:
        return
    s, k = offset_len(len(b), start, n)
    if k == 0:
        return
    data = text.encode("utf-8")
    k = min(k, len(data))
    if ascii_only:
        data = bytes(c for c in data if c < 0x80)
        k = min(k, len(data))
    b[s : s + k] = data[:k]


def _with_range(f: Callable[..., Any]) -> Callable[..., Any]:
    """Adapt ``f(blob, start, len, *rest)`` to take a range instead of start/len."""

    def g(b: bytearray, r: RhaiRange, *rest: Any) -> Any:
        s, n = range_start_len(r)
        return f(b, s, n, *rest)

    return g


def _mut(f: Callable[..., None]) -> Callable[..., tuple[bytearray, None]]:
    def g(b: bytearray, *a: Any) -> tuple[bytearray, None]:
        f(b, *a)
        return b, None

    return g


def _endian(f: Callable[..., Any], flag: bool, *args: Any) -> Any:
    """``f(*args, flag)``: binds the trailing little-endian / ascii-only flag."""
    return f(*args, flag)


def register(lib: Library) -> None:
    """Register the blob functions."""
    r = lib.register
    m = {"mutating": True}
    r("blob", (), bytearray)
    r("blob", (I,), _blob, needs_ctx=True)
    r("blob", (I, I), _blob, needs_ctx=True)
    r("to_array", (B,), list)
    r("as_string", (B,), lambda b: b.decode("utf-8", "replace"))
    r("len", (B,), len)
    r("is_empty", (B,), lambda b: not b)
    r("contains", (B, I), lambda b, v: (v & 0xFF) in b)
    r("get", (B, I), _get)
    r("set", (B, I, I), _set, **m)
    r("push", (B, I), _push, **m)
    r("append", (B, I), _push, **m)
    r("+=", (B, I), _push, **m)
    for t in (B, S, Char):
        r("append", (B, t), _extend, **m)
        r("+=", (B, t), _extend, **m)
    r("+", (B, B), lambda a, b: a + b)
    r("insert", (B, I, I), _insert, **m)
    r("pad", (B, I, I), _pad, needs_ctx=True, **m)
    r("pop", (B,), _pop, **m)
    r("shift", (B,), _shift, **m)
    r("remove", (B, I), _remove, **m)
    r("clear", (B,), lambda b: (b.clear(), (b, None))[1], **m)
    r("truncate", (B, I), _truncate, **m)
    r("chop", (B, I), _chop, **m)
    r("reverse", (B,), lambda b: (b.reverse(), (b, None))[1], **m)
    r("splice", (B, I, I, B), _splice, **m)
    r("splice", (B, R, B), _with_range(_splice), **m)
    r("extract", (B, I, I), _extract)
    r("extract", (B, I), lambda b, s: _extract(b, s, INT_MAX))
    r("extract", (B, R), _with_range(_extract))
    r("split", (B, I), _split, **m)
    r("drain", (B, I, I), _drain, **m)
    r("drain", (B, R), _with_range(_drain), **m)
    r("retain", (B, I, I), _retain, **m)
    r("retain", (B, R), _with_range(_retain), **m)
    for name, little in (("le", True), ("be", False)):
        pi = functools.partial(_endian, parse_int_bytes, little)
        pf = functools.partial(_endian, _parse_float, little)
        wi = functools.partial(_endian, write_int_bytes, little)
        wf = functools.partial(_endian, _write_float, little)
        r(f"parse_{name}_int", (B, I, I), pi)
        r(f"parse_{name}_int", (B, R), _with_range(pi))
        r(f"parse_{name}_float", (B, I, I), pf)
        r(f"parse_{name}_float", (B, R), _with_range(pf))
        r(f"write_{name}", (B, I, I, I), _mut(wi), **m)
        r(f"write_{name}", (B, R, I), _mut(_with_range(wi)), **m)
        r(f"write_{name}", (B, I, I, F), _mut(wf), **m)
        r(f"write_{name}", (B, R, F), _mut(_with_range(wf)), **m)
    for name, asc in (("write_utf8", False), ("write_ascii", True)):
        w = functools.partial(_endian, _write_str, asc)
        r(name, (B, I, I, S), _mut(w), **m)
        r(name, (B, R, S), _mut(_with_range(w)), **m)
    r("==", (B, B), lambda a, b: a == b)
    r("!=", (B, B), lambda a, b: a != b)
