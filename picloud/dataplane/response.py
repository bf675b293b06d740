"""What a script's value or error becomes on the wire.

Value → response (API.md, Data plane): ``()`` → 204; a map whose only keys
are an integer ``status`` and optionally ``body`` / ``headers`` → that
response; anything else → 200 JSON of the value. Errors → the platform's
JSON error body with a stable code (docs/dataplane.md lists them).
"""

from __future__ import annotations

import base64
import re
from typing import Any, NamedTuple

import msgspec

from picloud.rhai import errors as E
from picloud.rhai.values import Char, FnPtr, RhaiRange, Timestamp, to_display

__all__ = [
    "Reply",
    "ResponseShapeError",
    "error_reply",
    "json_reply",
    "reply_for_error",
    "reply_for_value",
    "to_json",
]

_JSON_TYPE = (b"content-type", b"application/json")
_TEXT_TYPE = (b"content-type", b"text/plain; charset=utf-8")
_BINARY_TYPE = (b"content-type", b"application/octet-stream")
_RESPONSE_KEYS = frozenset(("status", "body", "headers"))
#: An explicit ``code`` in a thrown map must look like the platform's own codes.
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")
#: Headers the server computes itself; a script's value for them is ignored.
_SERVER_HEADERS = frozenset(("content-length", "transfer-encoding", "connection"))

#: Status of a thrown map → code, when the map names none (docs/dataplane.md).
THROWN_CODES: dict[int, str] = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    422: "unprocessable",
    429: "limit_exceeded",
    503: "unavailable",
}

#: Interpreter limit kind → ``details.limit`` of a ``script_limit`` error.
LIMIT_NAMES: dict[str, str] = {
    "ErrorTooManyOperations": "operations",
    "ErrorStackOverflow": "call_depth",
    "ErrorDataTooLarge": "data_size",
    "ErrorTooManyVariables": "variables",
    "ErrorTooManyModules": "modules",
}


class Reply(NamedTuple):
    """A complete HTTP response."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class ResponseShapeError(Exception):
    """The script returned a response map that cannot be sent (bad status or header)."""


def _enc_hook(value: Any) -> Any:
    # Rhai values msgspec does not know natively.
    if isinstance(value, Char):
        return str(value)
    if isinstance(value, (bytearray, bytes)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, RhaiRange):
        return list(range(value.start, value.stop))
    if isinstance(value, (FnPtr, Timestamp)):
        return to_display(value)
    if isinstance(value, int):  # U8 and other int subclasses
        return int(value)
    if isinstance(value, str):
        return str(value)
    return to_display(value)


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)


def to_json(value: Any) -> bytes:
    """Rhai value → JSON bytes (Blob → base64 string, char → string, () → null)."""
    return _encoder.encode(value)


def json_reply(status: int, doc: Any) -> Reply:
    """A JSON response."""
    return Reply(status, [_JSON_TYPE], to_json(doc))


def error_reply(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Reply:
    """The platform's error body ``{"error": {code, message, details?}}``."""
    err: dict[str, Any] = {"code": code, "message": message}
    if details:
        err["details"] = details
    return json_reply(status, {"error": err})


def reply_for_value(value: Any) -> Reply:
    """The response a script's value asks for."""
    if value is None:
        return Reply(204, [], b"")
    if type(value) is dict and type(value.get("status")) is int and value.keys() <= _RESPONSE_KEYS:
        return _explicit(value)
    return json_reply(200, value)


def _explicit(value: dict[str, Any]) -> Reply:
    status = value["status"]
    if not 200 <= status <= 599:
        raise ResponseShapeError(f"response status must be between 200 and 599, got {status}")
    headers: list[tuple[bytes, bytes]] = []
    names: set[str] = set()
    raw_headers = value.get("headers")
    if raw_headers is not None:
        if type(raw_headers) is not dict:
            raise ResponseShapeError("response headers must be a map of name to string")
        for name, v in raw_headers.items():
            if not _HEADER_NAME.match(name):
                raise ResponseShapeError(f"invalid response header name {name!r}")
            low = name.lower()
            if low in _SERVER_HEADERS:
                continue
            text = v if isinstance(v, str) else to_display(v)
            if "\r" in text or "\n" in text:
                raise ResponseShapeError(f"response header {name!r} holds a line break")
            headers.append((low.encode("latin-1"), text.encode("utf-8")))
            names.add(low)
    body = value.get("body")
    if status in (204, 304) or body is None:
        return Reply(status, headers, b"")
    if isinstance(body, str):
        data, kind = body.encode("utf-8"), _TEXT_TYPE
    elif isinstance(body, bytearray):
        data, kind = bytes(body), _BINARY_TYPE
    else:
        data, kind = to_json(body), _JSON_TYPE
    if "content-type" not in names:
        headers.append(kind)
    return Reply(status, headers, data)


def _chain(err: E.RhaiError) -> tuple[E.RhaiError, list[str], E.RhaiError]:
    """(innermost error, modules crossed, innermost error that has a position)."""
    modules: list[str] = []
    positioned = err
    cur = err
    while True:
        if cur.kind == "ErrorInModule" and isinstance(cur.fields.get("module"), str):
            modules.append(cur.fields["module"])
        if cur.pos.line:
            positioned = cur
        inner = cur.fields.get("inner")
        if cur.kind not in ("ErrorInFunctionCall", "ErrorInModule") or not isinstance(
            inner, E.RhaiError
        ):
            return cur, modules, positioned
        cur = inner


def reply_for_error(err: E.RhaiError, script_name: str) -> Reply:
    """The response for an uncaught script error (thrown status, limit, or ``script_error``)."""
    inner, modules, positioned = _chain(err)
    if inner.kind == "ErrorTerminated":
        return error_reply(
            504, "script_timeout", "the script ran past its time limit", {"script": script_name}
        )
    limit = LIMIT_NAMES.get(inner.kind)
    if limit is not None:
        return error_reply(
            500,
            "script_limit",
            f"the script hit a limit: {inner.message}",
            {"limit": limit, "script": script_name, **_where(positioned, modules)},
        )
    if inner.kind == "ErrorRuntime" and "value" in inner.fields:
        thrown = _thrown(inner.fields["value"])
        if thrown is not None:
            return thrown
    if inner.kind == "ErrorSystem":
        # Host-side failures never show their Python text.
        message = "internal error in a host function"
    elif inner.kind == "ErrorModuleNotFound" and inner.message.startswith("Circular import"):
        # The interpreter names only the repeated module; the layers give the whole cycle.
        cycle = " -> ".join(modules)
        message = inner.message if " -> " in inner.message else f"Circular import: {cycle}"
    else:
        message = err.message
    details: dict[str, Any] = {"error": inner.kind, "script": script_name}
    details.update(_where(positioned, modules))
    return error_reply(500, "script_error", message, details)


def _where(err: E.RhaiError, modules: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if err.pos.line:
        out["line"] = err.pos.line
        out["column"] = err.pos.column
    if modules:
        # The innermost module is where the line number points.
        out["module"] = modules[-1]
    return out


def _thrown(value: Any) -> Reply | None:
    """``throw #{status: 4xx/5xx, message, code?, details?}`` → that error response."""
    if type(value) is not dict:
        return None
    status = value.get("status")
    if type(status) is not int or not 400 <= status <= 599:
        return None
    message = value.get("message")
    text = message if isinstance(message, str) else ("" if message is None else to_display(message))
    code = value.get("code")
    if not (isinstance(code, str) and _CODE.match(code)):
        code = THROWN_CODES.get(status, "script_thrown")
    details = value.get("details")
    return error_reply(
        status, str(code), text or f"error {status}", details if type(details) is dict else None
    )
