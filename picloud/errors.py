"""The platform's error hierarchy: every failure a client can see has a stable code.

Each subclass fixes a class-level ``code`` (stable snake_case, part of the public
contract) and ``http_status``. One handler in the HTTP layer renders any
``PicloudError`` as ``{"error": {"code", "message", "details"?}}``; the CLI prints
``code: message``. Nothing else about an exception ever reaches a client.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PicloudError",
    "InvalidInput",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "VersionConflict",
    "PayloadTooLarge",
    "ScriptCompileError",
    "LimitExceeded",
    "DependencyUnavailable",
    "ConfigError",
    "MigrationError",
]


class PicloudError(Exception):
    """Base of every error PiCloud reports on purpose."""

    code: str = "internal_error"
    http_status: int = 500

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body (``{"error": {...}}``)."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(PicloudError, ValueError):
    """400: the request is malformed; ``details.field`` names the culprit when known."""

    code = "invalid_input"
    http_status = 400


class Unauthorized(PicloudError):
    """401: no credentials, or credentials that are bad, expired or revoked."""

    code = "unauthorized"
    http_status = 401


class Forbidden(PicloudError):
    """403: authenticated, but lacking the capability."""

    code = "forbidden"
    http_status = 403


class NotFound(PicloudError, LookupError):
    """404: unknown, or not visible to the caller."""

    code = "not_found"
    http_status = 404


class Conflict(PicloudError):
    """409: a duplicate name, slug, hostname, route…"""

    code = "conflict"
    http_status = 409


class VersionConflict(Conflict):
    """409: an append's expected stream version did not match the stream."""

    code = "version_conflict"


class PayloadTooLarge(PicloudError):
    """413: the body is over the configured limit."""

    code = "payload_too_large"
    http_status = 413


class ScriptCompileError(PicloudError):
    """422: a script source does not compile (``details`` holds line and column)."""

    code = "script_compile_error"
    http_status = 422


class LimitExceeded(PicloudError):
    """429: a rate or quota limit was hit."""

    code = "limit_exceeded"
    http_status = 429


class DependencyUnavailable(PicloudError):
    """503: Postgres or Redis cannot be reached."""

    code = "dependency_unavailable"
    http_status = 503


class ConfigError(PicloudError):
    """A setting read from the environment is invalid (fails fast at start-up)."""

    code = "config_error"


class MigrationError(PicloudError):
    """A migration cannot be applied (edited after apply, bad SQL, …)."""

    code = "migration_error"
