"""Request bodies: strict msgspec Structs (unknown fields are a 400 naming the field)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

__all__ = [
    "CreateApiKeyIn",
    "CreateAppIn",
    "CreateUserIn",
    "EventOut",
    "EventsPage",
    "HealthOut",
    "LoginIn",
    "PatchAppIn",
    "SetMemberIn",
]


class _In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body."""


class LoginIn(_In):
    """``POST /api/v1/auth/login``."""

    email: str
    password: str


class CreateUserIn(_In):
    """``POST /api/v1/admin/users``."""

    email: str
    password: str
    instance_admin: bool = False


class CreateApiKeyIn(_In):
    """``POST /api/v1/admin/api-keys``; ``app`` is an app id or slug."""

    name: str
    scopes: list[str]
    app: str | None = None
    expires_at: datetime | None = None


class CreateAppIn(_In):
    """``POST /api/v1/admin/apps``."""

    slug: str
    name: str
    hostnames: list[str] = []


class PatchAppIn(_In):
    """``PATCH /api/v1/admin/apps/{app}``: only the fields given change."""

    slug: str | msgspec.UnsetType = msgspec.UNSET
    name: str | msgspec.UnsetType = msgspec.UNSET
    hostnames: list[str] | msgspec.UnsetType = msgspec.UNSET


class SetMemberIn(_In):
    """``PUT /api/v1/admin/apps/{app}/members/{user_id}``."""

    role: str


class EventOut(msgspec.Struct, kw_only=True):
    """One logged event with its metadata."""

    position: int
    stream: str
    version: int
    type: str
    data: dict[str, Any]
    meta: dict[str, Any]
    recorded_at: datetime


class EventsPage(msgspec.Struct, kw_only=True):
    """A page of an app's events; pass ``next_after`` as ``after`` for the next page."""

    events: list[EventOut]
    next_after: int


class HealthOut(msgspec.Struct, kw_only=True):
    """Liveness/readiness status, with one entry per dependency for ``/readyz``."""

    status: str
    checks: dict[str, str] = {}
