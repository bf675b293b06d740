"""Rhai values ⇄ the JSON the platform stores (KV values, documents, event payloads).

``to_stored`` turns a script's value into plain JSON data (dict, list, str,
int, float, bool, None) and ``from_stored`` turns it back into Rhai values.
Types JSON lacks travel as *marker objects*, maps whose key ``"$picloud"``
names the type:

* a Blob → ``{"$picloud": "blob", "base64": "<standard base64>"}``;
* an integral float of magnitude ≥ 1e16 → ``{"$picloud": "float", "value": "1e+16"}``,
  because PostgreSQL's jsonb prints such a number without a fraction
  (``10000000000000000``) and it would come back as an integer;
* a script map that itself has the key ``"$picloud"`` →
  ``{"$picloud": "map", "value": {…}}``, so no script data is mistaken for a marker.

So a value read back equals the value stored, at any depth. Refused (an
``InvalidInput`` with code ``unsupported_value`` whose message names the
path): function pointers, timestamps, ranges, host objects, NaN/infinite
floats, strings holding NUL (jsonb cannot store U+0000) and nesting deeper
than ``MAX_DEPTH``.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from picloud.errors import InvalidInput
from picloud.rhai.values import INT_MAX, INT_MIN, to_display, type_name

__all__ = ["MARKER", "MAX_DEPTH", "from_stored", "to_stored"]

#: The key that makes a stored map a typed marker.
MARKER = "$picloud"
#: Deepest nesting of arrays and maps a stored value may have.
MAX_DEPTH = 64
#: From here on an integral float would be printed by jsonb as an integer.
_FLOAT_MARK_FROM = 1e16


def _refuse(path: str, problem: str) -> InvalidInput:
    where = f" at {path}" if path else ""
    return InvalidInput(
        f"value{where}: {problem}", code="unsupported_value", details={"path": path or "$"}
    )


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _text(v: str, path: str) -> str:
    if "\x00" in v:
        raise _refuse(path, "strings cannot contain the NUL character")
    return str(v)  # a Char becomes a plain string


def to_stored(value: Any, path: str = "", depth: int = 0) -> Any:
    """A script value as plain JSON data (markers for Blobs); ``InvalidInput`` when impossible."""
    t = type(value)
    if value is None or t is bool or t is int:
        return value
    if t is float:
        if not math.isfinite(value):
            raise _refuse(path, f"{to_display(value)} cannot be stored (not a JSON number)")
        if value.is_integer() and abs(value) >= _FLOAT_MARK_FROM:
            return {MARKER: "float", "value": repr(value)}
        return value
    if isinstance(value, str):
        return _text(value, path)
    if isinstance(value, int) and t is not bool:  # U8 from blob indexing
        return int(value)
    if t is bytearray or t is bytes:
        return {MARKER: "blob", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    if t is list or t is dict:
        if depth >= MAX_DEPTH:
            raise _refuse(path, f"nested deeper than {MAX_DEPTH} levels")
        if t is list:
            return [to_stored(x, _child(path, i), depth + 1) for i, x in enumerate(value)]
        out = {
            _text(str(k), path): to_stored(v, _child(path, str(k)), depth + 1)
            for k, v in value.items()
        }
        return {MARKER: "map", "value": out} if MARKER in out else out
    raise _refuse(path, f"a {type_name(value)} cannot be stored")


def from_stored(data: Any) -> Any:
    """Stored JSON data back as Rhai values (maps with sorted keys, Blobs as ``bytearray``)."""
    t = type(data)
    if t is dict:
        tag = data.get(MARKER)
        if tag is not None and type(tag) is str:
            return _from_marker(tag, data)
        return {k: from_stored(data[k]) for k in sorted(data)}
    if t is list:
        return [from_stored(x) for x in data]
    if t is int and not INT_MIN <= data <= INT_MAX:
        return float(data)
    return data


def _from_marker(tag: str, data: dict[str, Any]) -> Any:
    if tag == "blob":
        try:
            return bytearray(base64.b64decode(data.get("base64", ""), validate=True))
        except (binascii.Error, TypeError, ValueError):
            return bytearray()
    if tag == "float":
        try:
            return float(data.get("value", "nan"))
        except (TypeError, ValueError):
            return float("nan")
    if tag == "map":
        inner = data.get("value")
        if type(inner) is dict:
            return {k: from_stored(inner[k]) for k in sorted(inner)}
    # Not a marker this version wrote: hand the map over as it is.
    return {k: from_stored(data[k]) for k in sorted(data)}
