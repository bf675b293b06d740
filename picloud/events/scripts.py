"""Script and route events: every admin change to an app's code and its HTTP routes.

A script's events go in its stream ``script-<id>`` and a route's in
``route-<id>`` (the ``<kind>-<id>`` form the app and identity streams use).
Every one carries the app's id, so the app's audit log shows them.
"""

from __future__ import annotations

import msgspec

from picloud.events.types import Event

__all__ = [
    "RouteCreated",
    "RouteDeleted",
    "ScriptCreated",
    "ScriptDeleted",
    "ScriptUpdated",
    "route_stream",
    "script_stream",
]


def script_stream(script_id: str) -> str:
    """The stream holding one script's creation, updates and deletion."""
    return f"script-{script_id}"


def route_stream(route_id: str) -> str:
    """The stream holding one route's creation and deletion."""
    return f"route-{route_id}"


class ScriptCreated(Event, frozen=True, tag="script.created"):
    """A script (``endpoint`` or ``module``) was deployed into an app at version 1."""

    script_id: str
    app_id: str
    name: str
    kind: str
    source: str
    imports: list[str] = msgspec.field(default_factory=list)
    """The literal ``import "<name>"`` paths of ``source``, first occurrence order."""


class ScriptUpdated(Event, frozen=True, tag="script.updated"):
    """A script's source was replaced; its version goes up by one."""

    script_id: str
    app_id: str
    source: str
    imports: list[str] = msgspec.field(default_factory=list)


class ScriptDeleted(Event, frozen=True, tag="script.deleted"):
    """A script was deleted (its routes were deleted by events just before)."""

    script_id: str
    app_id: str
    name: str


class RouteCreated(Event, frozen=True, tag="route.created"):
    """An HTTP route of an app now runs an endpoint script."""

    route_id: str
    app_id: str
    script_id: str
    method: str
    path: str
    dispatch_mode: str = "sync"


class RouteDeleted(Event, frozen=True, tag="route.deleted"):
    """A route was removed (directly, or because its script was deleted)."""

    route_id: str
    app_id: str
    script_id: str
