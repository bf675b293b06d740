"""Identity events: users, dashboard sessions and API keys.

Secrets never enter the log: sessions and keys carry only the SHA-256 of
their bearer secret, users only the argon2id hash of their password.
"""

from __future__ import annotations

from datetime import datetime

from picloud.events.types import Event

__all__ = [
    "ApiKeyCreated",
    "ApiKeyRevoked",
    "SessionEnded",
    "SessionStarted",
    "UserCreated",
    "api_key_stream",
    "session_stream",
    "user_stream",
]


def user_stream(user_id: str) -> str:
    """The stream holding one user's events."""
    return f"user-{user_id}"


def session_stream(session_id: str) -> str:
    """The stream holding one session's start and end."""
    return f"session-{session_id}"


def api_key_stream(key_id: str) -> str:
    """The stream holding one API key's creation and revocation."""
    return f"api_key-{key_id}"


class UserCreated(Event, frozen=True, tag="user.created"):
    """A user account was made (CLI, bootstrap or admin API)."""

    user_id: str
    email: str
    password_hash: str
    instance_admin: bool = False


class SessionStarted(Event, frozen=True, tag="session.started"):
    """A user logged in; the session lasts until ``expires_at`` or logout."""

    session_id: str
    user_id: str
    token_hash: str
    expires_at: datetime


class SessionEnded(Event, frozen=True, tag="session.ended"):
    """A user logged out of one session."""

    session_id: str
    user_id: str


class ApiKeyCreated(Event, frozen=True, tag="api_key.created"):
    """An API key was issued; the key itself was shown once and is not kept."""

    key_id: str
    name: str
    prefix: str
    key_hash: str
    scopes: list[str]
    app_id: str | None = None
    expires_at: datetime | None = None


class ApiKeyRevoked(Event, frozen=True, tag="api_key.revoked"):
    """An API key was revoked; it is refused from the next request on."""

    key_id: str
