"""``url::``: percent-encoding, URL parsing and query-string building.

``encode`` escapes everything except RFC 3986's unreserved characters
(``A-Z a-z 0-9 - . _ ~``), so its output is safe in any URL component.
``parse`` reads a query's ``+`` as a space (the form convention); a key that
appears once maps to a string, a repeated key to an array of strings.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from picloud.rhai.values import to_display, type_name
from picloud.sdk._common import fail, namespace, want_map, want_str

__all__ = ["parse_query", "url_members"]

_P = "url"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _decode_component(fn: str, s: str, plus_is_space: bool) -> str:
    if _BAD_ESCAPE.search(s):
        fail(_P, f"{fn}: malformed percent-escape")
    if plus_is_space:
        s = s.replace("+", " ")
    try:
        return urllib.parse.unquote(s, errors="strict")
    except UnicodeDecodeError:
        fail(_P, f"{fn}: percent-escapes are not valid UTF-8")


def parse_query(fn: str, query: str) -> dict[str, Any]:
    """A query string as a map: one value → string, repeated key → array of strings."""
    out: dict[str, Any] = {}
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        k = _decode_component(fn, key, True)
        v = _decode_component(fn, value, True)
        if k in out:
            prev = out[k]
            out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            out[k] = v
    return {k: out[k] for k in sorted(out)}


def _encode(text: Any) -> str:
    """``url::encode(s)``: percent-encode a URL component."""
    return urllib.parse.quote(want_str(_P, "encode", text), safe="")


def _decode(text: Any) -> str:
    """``url::decode(s)``: undo percent-encoding (``+`` stays ``+``)."""
    return _decode_component("decode", want_str(_P, "decode", text), False)


def _parse(text: Any) -> dict[str, Any]:
    """``url::parse(url)``: ``#{scheme, host, port, path, query, fragment}``."""
    s = want_str(_P, "parse", text)
    try:
        parts = urllib.parse.urlsplit(s)
        port = parts.port
    except ValueError as e:
        fail(_P, f"parse: not a valid URL ({e})")
    if not parts.scheme:
        fail(_P, "parse: the URL has no scheme")
    return {
        "fragment": _decode_component("parse", parts.fragment, False) if parts.fragment else None,
        "host": parts.hostname,
        "path": parts.path,
        "port": port,
        "query": parse_query("parse", parts.query),
        "scheme": parts.scheme,
    }


def _scalar(key: str, value: Any) -> str:
    if value is None or isinstance(value, (str, bool, int, float)):
        return to_display(value)
    fail(
        _P,
        f"build_query: value of '{key}' must be a string, number, bool or an array of "
        f"them, got {type_name(value)}",
    )


def _build_query(params: Any) -> str:
    """``url::build_query(map)``: ``k=v&…`` with keys sorted; arrays repeat the key, ``()`` is skipped."""
    m = want_map(_P, "build_query", params)
    pairs: list[str] = []
    for key in sorted(m):
        value = m[key]
        values = value if isinstance(value, list) else [value]
        for v in values:
            if v is None:
                continue
            pairs.append(
                f"{urllib.parse.quote(key, safe='')}={urllib.parse.quote(_scalar(key, v), safe='')}"
            )
    return "&".join(pairs)


def url_members() -> dict[str, Callable[..., Any]]:
    """The ``url::`` namespace."""
    return namespace(
        _P, {"encode": _encode, "decode": _decode, "parse": _parse, "build_query": _build_query}
    )
