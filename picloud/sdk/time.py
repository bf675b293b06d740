"""``time::``: wall-clock instants as integer milliseconds since the Unix epoch (UTC).

``now()`` / ``format(ms)`` give RFC 3339 text with millisecond precision and a
``Z`` suffix; ``parse`` accepts any RFC 3339 date-time (any offset, up to nine
fraction digits, truncated to milliseconds). ``format(ms, fmt)`` takes a small,
locale-independent set of ``%`` directives. Rhai's own ``timestamp()`` is a
monotonic clock for measuring durations; these are calendar instants.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from picloud.rhai.values import INT_MAX, INT_MIN, type_name
from picloud.sdk._common import fail, namespace, want_int, want_str

__all__ = ["MAX_MS", "MIN_MS", "format_ms", "parse_rfc3339", "time_members"]

_P = "time"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Instants ``format`` can render: 0001-01-01T00:00:00.000Z ..= 9999-12-31T23:59:59.999Z.
MIN_MS = -62_135_596_800_000
MAX_MS = 253_402_300_799_999
#: Longest ``fmt`` accepted by ``time::format``.
MAX_FORMAT_CHARS = 256

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def parse_rfc3339(text: str) -> int:
    """Epoch milliseconds of an RFC 3339 date-time (raises the ``time:`` error)."""
    m = _RFC3339.fullmatch(text.strip())
    if m is None:
        fail(_P, f"parse: not an RFC 3339 date-time: {text[:64]!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, offset = m.group(7) or "", m.group(8)
    # RFC 3339 allows a leap second (:60); it lands on the next minute's :00.
    leap = second == 60
    try:
        dt = datetime(year, month, day, hour, minute, 59 if leap else second, tzinfo=UTC)
    except ValueError:
        fail(_P, f"parse: no such date or time: {text[:64]!r}")
    if offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        oh, om = int(offset[1:3]), int(offset[4:6])
        if oh > 23 or om > 59:
            fail(_P, f"parse: bad UTC offset {offset!r}")
        dt -= sign * timedelta(hours=oh, minutes=om)
    delta = dt - _EPOCH
    ms = (delta.days * 86_400 + delta.seconds + (1 if leap else 0)) * 1000
    return ms + int((frac + "000")[:3])


def _check_ms(fn: str, value: Any) -> int:
    ms = want_int(_P, fn, value, "epoch milliseconds (an integer)")
    if not MIN_MS <= ms <= MAX_MS:
        fail(_P, f"{fn}: {ms} is outside years 1..9999")
    return ms


def _civil(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _directive(dt: datetime, ms: int, d: str) -> str:
    hour12 = dt.hour % 12 or 12
    table: dict[str, Callable[[], str]] = {
        "Y": lambda: f"{dt.year:04d}",
        "y": lambda: f"{dt.year % 100:02d}",
        "m": lambda: f"{dt.month:02d}",
        "d": lambda: f"{dt.day:02d}",
        "H": lambda: f"{dt.hour:02d}",
        "M": lambda: f"{dt.minute:02d}",
        "S": lambda: f"{dt.second:02d}",
        "I": lambda: f"{hour12:02d}",
        "p": lambda: "AM" if dt.hour < 12 else "PM",
        "j": lambda: f"{dt.timetuple().tm_yday:03d}",
        "a": lambda: _DAYS[dt.weekday()][:3],
        "A": lambda: _DAYS[dt.weekday()],
        "b": lambda: _MONTHS[dt.month - 1][:3],
        "B": lambda: _MONTHS[dt.month - 1],
        "F": lambda: f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}",
        "T": lambda: f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}",
        "z": lambda: "+0000",
        "Z": lambda: "UTC",
        "s": lambda: str(ms // 1000),
        "L": lambda: f"{ms % 1000:03d}",
        "%": lambda: "%",
    }
    render = table.get(d)
    if render is None:
        fail(_P, f"format: unsupported directive %{d}")
    return render()


def format_ms(ms: int, fmt: str | None = None) -> str:
    """RFC 3339 text (``fmt`` ``None``) or ``fmt``'s directives, always in UTC."""
    dt = _civil(ms)
    if fmt is None:
        return (
            f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:"
            f"{dt.second:02d}.{ms % 1000:03d}Z"
        )
    out: list[str] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(fmt):
            fail(_P, "format: a lone % ends the format")
        out.append(_directive(dt, ms, fmt[i + 1]))
        i += 2
    return "".join(out)


def _now_ms() -> int:
    """``time::now_ms()``."""
    return time.time_ns() // 1_000_000


def _now() -> str:
    """``time::now()``."""
    return format_ms(_now_ms())


def _parse(text: Any) -> int:
    """``time::parse(rfc3339)``."""
    return parse_rfc3339(want_str(_P, "parse", text))


def _format(ms: Any, fmt: Any = None) -> str:
    """``time::format(ms[, fmt])``."""
    ms = _check_ms("format", ms)
    if fmt is None:
        return format_ms(ms)
    fmt = want_str(_P, "format", fmt, "a format string")
    if len(fmt) > MAX_FORMAT_CHARS:
        fail(_P, f"format: the format is longer than {MAX_FORMAT_CHARS} characters")
    return format_ms(ms, fmt)


def _add(start: Any, seconds: Any) -> int:
    """``time::add(ms, seconds)``: seconds may be fractional (rounded to the millisecond)."""
    ms = want_int(_P, "add", start, "epoch milliseconds (an integer)")
    if type(seconds) is int:
        delta = seconds * 1000
    elif type(seconds) is float and math.isfinite(seconds):
        delta = round(seconds * 1000)
    else:
        fail(_P, f"add expects seconds as a number, got {type_name(seconds)}")
    out = ms + delta
    if not INT_MIN <= out <= INT_MAX:
        fail(_P, "add: result is out of range")
    return out


def _diff(a: Any, b: Any) -> int:
    """``time::diff(a, b)``: ``a - b`` in milliseconds."""
    out = want_int(_P, "diff", a, "epoch milliseconds (an integer)") - want_int(
        _P, "diff", b, "epoch milliseconds (an integer)"
    )
    if not INT_MIN <= out <= INT_MAX:
        fail(_P, "diff: result is out of range")
    return out


def time_members() -> dict[str, Callable[..., Any]]:
    """The ``time::`` namespace."""
    return namespace(
        _P,
        {
            "now": _now,
            "now_ms": _now_ms,
            "parse": _parse,
            "format": _format,
            "add": _add,
            "diff": _diff,
        },
    )
