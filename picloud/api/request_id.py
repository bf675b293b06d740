"""Request ids: taken from a sane ``X-Request-ID`` header or made fresh, echoed on every response.

The id lives in the ASGI scope so handlers (event metadata), the error
handlers and the ``before_send`` hook all see the same value, including on
responses for unknown routes that no route middleware would wrap.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message

__all__ = ["HEADER", "add_request_id_header", "request_id_of"]

HEADER = "x-request-id"
_SCOPE_KEY = "picloud.request_id"
# A client-supplied id is kept only if it is short and plain, so it is safe
# to log and to store in event metadata.
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(scope: Any) -> str:
    """The request id for this scope, made once per request."""
    rid = scope.get(_SCOPE_KEY)
    if rid is None:
        rid = None
        for name, value in scope.get("headers", ()):
            if name == HEADER.encode():
                candidate = value.decode("latin-1")
                if _SAFE.match(candidate):
                    rid = candidate
                break
        rid = rid or uuid.uuid4().hex
        scope[_SCOPE_KEY] = rid
    return str(rid)


async def add_request_id_header(message: Message, scope: Any) -> None:
    """``before_send`` hook: put the request id on every HTTP response."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        if HEADER not in headers:
            headers[HEADER] = request_id_of(scope)
