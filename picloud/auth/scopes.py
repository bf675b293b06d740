"""The seven API-key scopes and the three per-app roles.

The scope set is a public commitment (API.md: "exactly seven scopes"); new
features map onto these in :mod:`picloud.auth.capabilities` instead of adding
one here.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["ALL_SCOPES", "ROLE_RANK", "Role", "Scope", "role_at_least"]


class Scope(str, Enum):
    """A permission an API key carries."""

    INSTANCE_ADMIN = "instance:admin"
    APP_READ = "app:read"
    APP_WRITE = "app:write"
    APP_ADMIN = "app:admin"
    SCRIPT_READ = "script:read"
    SCRIPT_WRITE = "script:write"
    EVENTS_READ = "events:read"


class Role(str, Enum):
    """A user's role within one app."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)

#: Roles are ordered: an editor can do all a viewer can, an admin all an editor can.
ROLE_RANK: dict[str, int] = {Role.VIEWER.value: 1, Role.EDITOR.value: 2, Role.ADMIN.value: 3}


def role_at_least(held: str | None, needed: str) -> bool:
    """Whether the held role (``None`` = not a member) reaches the needed one."""
    if held is None:
        return False
    return ROLE_RANK.get(held, 0) >= ROLE_RANK[needed]
