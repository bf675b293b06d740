"""One JSON error shape for every failure: ``{"error": {"code", "message", "details"?}}``.

Litestar's own exceptions (validation, unknown route, wrong method, body too
large) are translated to the platform's stable codes here, and anything
unexpected becomes a bare 500 whose body never carries a traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
import redis.exceptions
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from picloud.api.request_id import request_id_of
from picloud.errors import PicloudError

__all__ = ["error_body", "exception_handlers"]

log = logging.getLogger("picloud.api")

#: Litestar status → our stable code, for HTTP errors raised by the framework itself.
_STATUS_CODES: dict[int, str] = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "limit_exceeded",
    503: "dependency_unavailable",
}

# msgspec names the culprit in backticks ("unknown field `zzz`", "missing
# required field `slug`"); Litestar reports the key as "data" in those cases.
_FIELD_IN_MESSAGE = re.compile(r"field `([^`]+)`")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error JSON document."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def _json(request: Request[Any, Any, Any], status: int, body: dict[str, Any]) -> Response[Any]:
    headers = {"x-request-id": request_id_of(request.scope)}
    if status == 401:
        headers["www-authenticate"] = "Bearer"
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def _validation_field(extra: Any) -> tuple[str | None, str]:
    """(field, message) from Litestar's validation ``extra`` list."""
    if not isinstance(extra, list) or not extra or not isinstance(extra[0], dict):
        return None, "invalid request"
    first = extra[0]
    message = str(first.get("message", "invalid request"))
    key = first.get("key")
    named = _FIELD_IN_MESSAGE.search(message)
    if named and (key in (None, "data") or not key):
        return named.group(1), message
    if key in (None, "data"):
        return None, message
    return str(key), message


def _on_picloud_error(request: Request[Any, Any, Any], exc: PicloudError) -> Response[Any]:
    return _json(request, exc.http_status, exc.to_dict())


def _on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    field, message = _validation_field(exc.extra)
    details: dict[str, Any] = {}
    if field is not None:
        details["field"] = field
        message = f"{field}: {message}"
    source = exc.extra[0].get("source") if isinstance(exc.extra, list) and exc.extra else None
    if source and source != "body":
        details["source"] = source
    return _json(request, 400, error_body("invalid_input", message, details))


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    code = _STATUS_CODES.get(status, "http_error" if status < 500 else "internal_error")
    message = exc.detail or "error"
    if status == 400:
        # Field-level problems arrive as ValidationException; a bare 400 from
        # Litestar means the body itself could not be decoded, and bodies are JSON.
        code = "invalid_json"
        message = f"request body is not valid JSON: {message}"
    elif status == 413:
        message = "request body too large"
    elif status == 404:
        message = f"no route for {request.method} {request.url.path}"
    elif status == 405:
        message = f"method {request.method} not allowed on {request.url.path}"
    elif status >= 500:
        log.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, message)
        message = "internal error"
    return _json(request, status, error_body(code, message))


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The traceback goes to the log, tagged with the request id; the client
    # gets only the id to quote.
    rid = request_id_of(request.scope)
    log.exception("unhandled error in %s %s [request %s]", request.method, request.url.path, rid)
    return _json(request, 500, error_body("internal_error", "internal error", {"request_id": rid}))


def _on_dependency_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Postgres or Redis went away mid-request: a 503 the client may retry,
    # not a 500 that suggests a bug.
    log.warning("dependency unavailable in %s %s: %r", request.method, request.url.path, exc)
    body = error_body("dependency_unavailable", "a backing service is unavailable; retry later")
    return _json(request, 503, body)


#: Connection-level failures of Postgres or Redis (not query errors).
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)

exception_handlers: ExceptionHandlersMap = {
    **{cls: _on_dependency_down for cls in DEPENDENCY_ERRORS},
    PicloudError: _on_picloud_error,
    ValidationException: _on_validation,
    HTTPException: _on_http,
    Exception: _on_unexpected,
}
