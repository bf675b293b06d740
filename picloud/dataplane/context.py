"""``ctx``: what an endpoint script sees of its request, app and caller (API.md, Data plane).

``ctx.request`` is ``#{method, path, params, query, headers, body, body_raw}``
with lower-case header names; ``body`` is the parsed JSON for a JSON request,
else the text (``()`` when empty); ``body_raw`` is the bytes as a Blob.
``ctx.app`` is ``#{id, slug}``; ``ctx.principal`` is ``()`` for an anonymous
call, else ``#{kind, id, scopes}``; ``ctx.event`` is ``()`` for HTTP.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import msgspec

from picloud.rhai.values import INT_MAX, INT_MIN

__all__ = ["BadBody", "build_ctx", "is_json", "principal_value"]

_decoder = msgspec.json.Decoder()


class BadBody(ValueError):
    """A request that says it is JSON but is not."""


def is_json(content_type: str) -> bool:
    """``application/json`` or any ``+json`` media type."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _rhai(value: Any) -> Any:
    """JSON value → Rhai value: integers outside i64 become floats."""
    t = type(value)
    if t is int:
        return value if INT_MIN <= value <= INT_MAX else float(value)
    if t is dict:
        return {k: _rhai(v) for k, v in value.items()}
    if t is list:
        return [_rhai(v) for v in value]
    return value


def parse_body(body: bytes, content_type: str) -> Any:
    """The script's ``ctx.request.body``."""
    if not body:
        return None
    if is_json(content_type):
        try:
            return _rhai(_decoder.decode(body))
        except msgspec.DecodeError as exc:
            raise BadBody(f"request body is not valid JSON: {exc}") from None
    return body.decode("utf-8", errors="replace")


def _query(raw: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if key in out:
            # A repeated key becomes an array of its values, in order.
            prev = out[key]
            out[key] = [*prev, value] if type(prev) is list else [prev, value]
        else:
            out[key] = value
    return out


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        # Repeated headers combine as HTTP defines: comma-separated, in order.
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def principal_value(principal: Any) -> dict[str, Any] | None:
    """``ctx.principal``: ``()`` when anonymous, else ``#{kind, id, scopes}``."""
    if principal is None:
        return None
    return {"kind": principal.kind, "id": principal.id, "scopes": sorted(principal.scopes)}


def build_ctx(
    scope: dict[str, Any],
    *,
    app_id: str,
    app_slug: str,
    path: str,
    params: dict[str, str],
    body: bytes,
    principal: Any,
) -> dict[str, Any]:
    """The ``ctx`` map for one HTTP request."""
    headers = _headers(scope.get("headers", []))
    request = {
        "method": scope["method"],
        "path": path,
        "params": params,
        "query": _query(scope.get("query_string", b"")),
        "headers": headers,
        "body": parse_body(body, headers.get("content-type", "")),
        "body_raw": bytearray(body),
    }
    return {
        "request": request,
        "app": {"id": app_id, "slug": app_slug},
        "principal": principal_value(principal),
        "event": None,
    }
