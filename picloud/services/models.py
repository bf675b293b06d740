"""Read models returned by the services and rendered as JSON by the API and CLI."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = [
    "ApiKeyView",
    "AppView",
    "CreatedApiKey",
    "LoginResult",
    "MeView",
    "MemberView",
    "UserView",
]


class UserView(msgspec.Struct, kw_only=True):
    """A user as shown to admins (never the password hash)."""

    id: str
    email: str
    instance_admin: bool
    created_at: datetime


class MeView(msgspec.Struct, kw_only=True):
    """The caller: a user (with memberships) or an API key (with scopes)."""

    kind: str
    id: str
    email: str | None = None
    instance_admin: bool = False
    scopes: list[str] = []
    app_id: str | None = None
    session_expires_at: datetime | None = None
    memberships: dict[str, str] = {}


class LoginResult(msgspec.Struct, kw_only=True):
    """The bearer token of a new session (shown once) and when it expires."""

    token: str
    expires_at: datetime


class ApiKeyView(msgspec.Struct, kw_only=True):
    """An API key as listed: its prefix but never the key."""

    id: str
    name: str
    prefix: str
    scopes: list[str]
    app_id: str | None
    expires_at: datetime | None
    created_by: str
    created_at: datetime


class CreatedApiKey(ApiKeyView, kw_only=True):
    """A just-created key: the only response that ever holds ``key``."""

    key: str


class AppView(msgspec.Struct, kw_only=True):
    """An app: ``{id, slug, name, hostnames, created_at}`` plus ``updated_at``."""

    id: str
    slug: str
    name: str
    hostnames: list[str]
    created_at: datetime
    updated_at: datetime


class MemberView(msgspec.Struct, kw_only=True):
    """A user's role in an app."""

    app_id: str
    user_id: str
    email: str
    role: str
    created_at: datetime
    updated_at: datetime
