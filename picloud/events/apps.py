"""App events: lifecycle (create, update, delete) and membership.

All of an app's events go in its stream ``app-<id>`` and carry its id, so
the app's audit log (``GET /api/v1/admin/apps/{app}/events``) shows them.
"""

from __future__ import annotations

import msgspec

from picloud.events.types import Event

__all__ = [
    "AppCreated",
    "AppDeleted",
    "AppMemberRemoved",
    "AppMemberSet",
    "AppUpdated",
    "app_stream",
]


def app_stream(app_id: str) -> str:
    """The stream holding one app's lifecycle and membership events."""
    return f"app-{app_id}"


class AppCreated(Event, frozen=True, tag="app.created"):
    """An app was created."""

    app_id: str
    slug: str
    name: str
    hostnames: list[str] = msgspec.field(default_factory=list)


class AppUpdated(Event, frozen=True, tag="app.updated"):
    """An app's settings changed; the event holds the full new values."""

    app_id: str
    slug: str
    name: str
    hostnames: list[str] = msgspec.field(default_factory=list)


class AppDeleted(Event, frozen=True, tag="app.deleted"):
    """An app was deleted (its events stay in the log)."""

    app_id: str
    slug: str


class AppMemberSet(Event, frozen=True, tag="app.member_set"):
    """A user was given (or moved to) a role in an app."""

    app_id: str
    user_id: str
    role: str


class AppMemberRemoved(Event, frozen=True, tag="app.member_removed"):
    """A user's membership of an app ended."""

    app_id: str
    user_id: str
