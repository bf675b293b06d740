"""Indexing of built-in values: ``c[i]`` reads and writes with Rhai's rules.

Arrays and blobs take (negative-from-the-end) int indices, maps string keys,
strings char positions or ranges (slices clamp, single indices raise), ints
bit positions or bit ranges. Errors carry Rhai's texts and catch-map fields.
Re-exported by ``picloud.rhai.values``.
"""

from __future__ import annotations

from typing import Any

from picloud.rhai.errors import (
    ErrorArrayBounds,
    ErrorBitFieldBounds,
    ErrorIndexingType,
    ErrorMismatchDataType,
    ErrorPropertyNotFound,
    ErrorStringBounds,
    RhaiError,
)
from picloud.rhai.values import INT_MAX, Char, RhaiRange, to_display, type_name

__all__ = [
    "array_bounds",
    "bit_bounds",
    "get_index",
    "get_property",
    "set_index",
    "string_bounds",
]


def _count(n: int, one: str, many: str) -> str:
    return (
        f"{one} is empty"
        if n == 0
        else (f"only 1 {many[:-1]} in {one}" if n == 1 else f"only {n} {many} in {one}")
    )


def array_bounds(length: int, index: int) -> RhaiError:
    """Rhai's ``ErrorArrayBounds`` (text and ``length``/``index`` fields)."""
    return ErrorArrayBounds(
        f"Array index {index} out of bounds: {_count(length, 'array', 'elements')}",
        length=length,
        index=index,
    )


def string_bounds(length: int, index: int) -> RhaiError:
    """Rhai's ``ErrorStringBounds`` (length in characters)."""
    return ErrorStringBounds(
        f"String index {index} out of bounds: {_count(length, 'string', 'characters')}",
        length=length,
        index=index,
    )


def bit_bounds(index: int) -> RhaiError:
    """Rhai's ``ErrorBitFieldBounds`` for a 64-bit INT."""
    return ErrorBitFieldBounds(
        f"Bit-field index {index} out of bounds: only 64 bits in bit-field", length=64, index=index
    )


def _calc_index(length: int, index: int) -> int:
    """Rhai's ``calc_index`` with negative-from-end; -1 when out of bounds."""
    if index < 0:
        index += length
        return index if index >= 0 else -1
    return index if index < length else -1


def _mismatch_int(idx: Any) -> RhaiError:
    n = type_name(idx)
    return ErrorMismatchDataType(
        f"Data type incorrect: {n} (expecting i64)", requested="i64", actual=n
    )


def get_index(container: Any, idx: Any, fail_on_invalid_map_property: bool = False) -> Any:
    """``container[idx]`` for built-in containers (arrays, blobs, maps, strings, int bits)."""
    t = type(container)
    if t is list:
        if type(idx) is not int:
            raise _mismatch_int(idx)
        try:
            if idx >= 0:
                return container[idx]
            if -idx <= len(container):
                return container[idx]
        except IndexError:
            pass
        raise array_bounds(len(container), idx)
    if t is dict:
        if type(idx) is not str:
            n = type_name(idx)
            raise ErrorMismatchDataType(
                f"Data type incorrect: {n} (expecting string)", requested="string", actual=n
            )
        try:
            return container[idx]
        except KeyError:
            if fail_on_invalid_map_property:
                raise ErrorPropertyNotFound(f"Property not found: {idx}", variable=idx) from None
            return None
    if t is str:
        return _string_index(container, idx)
    if t is bytearray:
        if type(idx) is not int:
            raise _mismatch_int(idx)
        i = _calc_index(len(container), idx)
        if i < 0:
            raise array_bounds(len(container), idx)
        return container[i]
    if t is int:
        ti = type(idx)
        if ti is int:
            return bool((container >> _bit_index(idx)) & 1)
        if ti is RhaiRange:
            shift, mask = _bit_range(idx)
            return _signed((container & mask) >> shift) if mask != -1 else container
        raise _mismatch_int(idx)
    raise _indexing_type(container, idx)


def _indexing_type(container: Any, idx: Any) -> RhaiError:
    what = f"{type_name(container)} [{type_name(idx)}]"
    return ErrorIndexingType(f"Indexer unavailable: {what}", type=what)


def _signed(n: int) -> int:
    n &= 0xFFFFFFFFFFFFFFFF
    return n - (1 << 64) if n >> 63 else n


def _bit_index(idx: int) -> int:
    i = _calc_index(64, idx)
    if i < 0:
        raise bit_bounds(idx)
    return i


def _bit_range_error(n: int) -> RhaiError:
    return bit_bounds(n)


def _bit_range(r: RhaiRange) -> tuple[int, int]:
    """``(shift, mask)`` of a bit range index; mask ``-1`` means all 64 bits.

    Range bounds never count from the top: a negative bound is out of bounds.
    """
    start = r.start
    if not 0 <= start < 64:
        raise _bit_range_error(start)
    if r.inclusive:
        end = 63 if r.end == INT_MAX else r.end
        if not 0 <= end < 64:
            raise _bit_range_error(end)
        end += 1
    else:
        end = 64 if r.end == INT_MAX else r.end
        if not 0 <= end <= 64:
            raise _bit_range_error(end)
    if end <= start:
        return 0, 0
    if start == 0 and end == 64:
        return 0, -1
    return start, ((1 << (end - start)) - 1) << start


def _string_index(s: str, idx: Any) -> Any:
    ti = type(idx)
    if ti is int:
        n = len(s)
        i = _calc_index(n, idx)
        if i < 0:
            raise string_bounds(n, idx)
        return Char(s[i])
    if ti is RhaiRange:
        n = len(s)
        if n == 0:
            return s
        start, end = _string_slice_bounds(s, idx)
        if idx.inclusive:
            if start == 0 and end >= n - 1:
                return s
            # Rhai takes nothing unless the end is past the start (so `s[1..=1]` is empty).
            return s[start : end + 1] if end > start else ""
        if start == 0 and end >= n:
            return s
        return s[start:end]
    raise _mismatch_int(idx)


def _string_slice_bounds(s: str, r: RhaiRange) -> tuple[int, int]:
    """Rhai's char ``(start, end)`` of a range index into a non-empty string (end unclamped)."""
    n = len(s)
    start = r.start
    if start < 0:
        start = _calc_index(n, start)
        if start < 0:
            raise string_bounds(n, r.start)
    end = r.end
    if end < 0:
        end = max(_calc_index(n, end), 0)
    return start, end


def set_index(container: Any, idx: Any, value: Any) -> Any:
    """``container[idx] = value``; returns the (possibly new) container to write back.

    Arrays, maps and blobs change in place and come back as the same object;
    strings and ints are immutable so the new value is returned.
    """
    t = type(container)
    if t is list:
        if type(idx) is not int:
            raise _mismatch_int(idx)
        n = len(container)
        i = _calc_index(n, idx)
        if i < 0:
            raise array_bounds(n, idx)
        container[i] = value
        return container
    if t is dict:
        if type(idx) is not str:
            n2 = type_name(idx)
            raise ErrorMismatchDataType(
                f"Data type incorrect: {n2} (expecting string)", requested="string", actual=n2
            )
        container[idx] = value
        return container
    if t is bytearray:
        if type(idx) is not int:
            raise _mismatch_int(idx)
        n = len(container)
        i = _calc_index(n, idx)
        if i < 0:
            raise array_bounds(n, idx)
        if type(value) is not int:
            raise _mismatch(value, "i64")
        container[i] = value & 0xFF
        return container
    if t is str:
        return _set_string_index(container, idx, value)
    if t is int:
        ti = type(idx)
        if ti is int:
            if type(value) is not bool:
                raise _mismatch(value, "bool")
            bit = _bit_index(idx)
            u = container | (1 << bit) if value else container & ~(1 << bit)
            return _signed(u)
        if ti is RhaiRange:
            if type(value) is not int:
                raise _mismatch(value, "i64")
            shift, mask = _bit_range(idx)
            return _signed((container & ~mask) | ((value << shift) & mask))
        raise _mismatch_int(idx)
    raise _indexing_type(container, idx)


def _mismatch(value: Any, expected: str) -> RhaiError:
    n = type_name(value)
    return ErrorMismatchDataType(
        f"Data type incorrect: {n} (expecting {expected})", requested=expected, actual=n
    )


def _set_string_index(s: str, idx: Any, value: Any) -> str:
    ti = type(idx)
    if ti is int:
        n = len(s)
        i = _calc_index(n, idx)
        if i < 0:
            raise string_bounds(n, idx)
        if type(value) is not Char:
            raise _mismatch(value, "char")
        if idx < 0:
            # Rhai writes a negative index at position |idx| (observed engine behaviour).
            i = -idx
            if i >= n:
                return s
        return s[:i] + value + s[i + 1 :]
    if ti is RhaiRange:
        n = len(s)
        text = to_display(value)
        if n == 0:
            return text
        start, end = _string_slice_bounds(s, idx)
        if idx.inclusive:
            return s[:start] + text + s[min(end, n - 1) + 1 :]
        return s[:start] + text + s[min(end, n) :]
    raise _mismatch_int(idx)


def get_property(m: Any, name: str, fail_on_invalid_map_property: bool = False) -> Any:
    """``map.name`` for an object map: missing gives ``()`` or ``ErrorPropertyNotFound``."""
    try:
        return m[name]
    except KeyError:
        if fail_on_invalid_map_property:
            raise ErrorPropertyNotFound(f"Property not found: {name}", variable=name) from None
        return None
