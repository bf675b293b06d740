"""Capabilities: what a handler asks for, and the one table of who is granted it.

Every handler asks for exactly one capability (``AppRead(app_id)``,
``InstanceAdmin()``…). :func:`grant_for` is the single place that says which
API-key scope and which per-app role grant it; :func:`decide` applies that to
a principal. Instance admins (users) and keys holding ``instance:admin`` are
granted everything, except that an app-restricted key never reaches outside
its app.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from picloud.auth.scopes import Role, Scope, role_at_least

if TYPE_CHECKING:
    from picloud.auth.principal import Principal

__all__ = [
    "ApiKeysManage",
    "AppAdmin",
    "AppCreate",
    "AppDeadLetterManage",
    "AppDocsRead",
    "AppDocsWrite",
    "AppFilesRead",
    "AppFilesWrite",
    "AppHttpRequest",
    "AppKvRead",
    "AppKvWrite",
    "AppList",
    "AppManageTriggers",
    "AppMembersManage",
    "AppPubsubPublish",
    "AppRead",
    "AppTopicManage",
    "AppWrite",
    "Capability",
    "Decision",
    "EventsRead",
    "Grant",
    "InstanceAdmin",
    "ScriptRead",
    "ScriptWrite",
    "UsersManage",
    "decide",
    "grant_for",
]


@dataclass(frozen=True, slots=True)
class Capability:
    """Base of every capability; instance-level ones have no app."""

    @property
    def app_id(self) -> str | None:
        """The app this capability is about (``None``: the whole instance)."""
        return None


@dataclass(frozen=True, slots=True)
class _AppCapability(Capability):
    """A capability on one app."""

    app: str

    @property
    def app_id(self) -> str | None:
        """The app this capability is about."""
        return self.app


# Instance-level capabilities.
@dataclass(frozen=True, slots=True)
class InstanceAdmin(Capability):
    """Anything on the whole instance."""


@dataclass(frozen=True, slots=True)
class AppCreate(Capability):
    """Create a new app."""


@dataclass(frozen=True, slots=True)
class AppList(Capability):
    """List the apps visible to the caller (the list itself is filtered)."""


@dataclass(frozen=True, slots=True)
class ApiKeysManage(Capability):
    """Create, list and revoke API keys."""


@dataclass(frozen=True, slots=True)
class UsersManage(Capability):
    """Create and list users."""


# Per-app capabilities.
@dataclass(frozen=True, slots=True)
class AppRead(_AppCapability):
    """See an app, its settings and its members."""


@dataclass(frozen=True, slots=True)
class AppWrite(_AppCapability):
    """Change an app's name, slug or hostnames."""


@dataclass(frozen=True, slots=True)
class AppAdmin(_AppCapability):
    """Delete an app."""


@dataclass(frozen=True, slots=True)
class AppMembersManage(_AppCapability):
    """Add, change or remove an app's members."""


@dataclass(frozen=True, slots=True)
class EventsRead(_AppCapability):
    """Read an app's audit log (its events)."""


@dataclass(frozen=True, slots=True)
class ScriptRead(_AppCapability):
    """Read an app's scripts and routes."""


@dataclass(frozen=True, slots=True)
class ScriptWrite(_AppCapability):
    """Create, change or delete an app's scripts and routes."""


@dataclass(frozen=True, slots=True)
class AppKvRead(_AppCapability):
    """Read the app's KV collections (SDK or admin)."""


@dataclass(frozen=True, slots=True)
class AppKvWrite(_AppCapability):
    """Write the app's KV collections."""


@dataclass(frozen=True, slots=True)
class AppDocsRead(_AppCapability):
    """Read the app's document collections."""


@dataclass(frozen=True, slots=True)
class AppDocsWrite(_AppCapability):
    """Write the app's document collections."""


@dataclass(frozen=True, slots=True)
class AppFilesRead(_AppCapability):
    """Read the app's files."""


@dataclass(frozen=True, slots=True)
class AppFilesWrite(_AppCapability):
    """Write the app's files."""


@dataclass(frozen=True, slots=True)
class AppPubsubPublish(_AppCapability):
    """Publish on the app's pub/sub topics."""


@dataclass(frozen=True, slots=True)
class AppHttpRequest(_AppCapability):
    """Make outbound HTTP requests from the app's scripts."""


@dataclass(frozen=True, slots=True)
class AppTopicManage(_AppCapability):
    """Register, change and delete the app's realtime topics."""


@dataclass(frozen=True, slots=True)
class AppManageTriggers(_AppCapability):
    """Create and delete the app's triggers."""


@dataclass(frozen=True, slots=True)
class AppDeadLetterManage(_AppCapability):
    """Replay and resolve the app's dead letters."""


@dataclass(frozen=True, slots=True)
class Grant:
    """Who is granted a capability: keys with ``scope``, users with ``role`` or above.

    ``role=None`` means no per-app role grants it: among users only instance
    admins have it.
    """

    scope: Scope
    role: Role | None


class Decision(Enum):
    """The outcome of an access check; NOT_FOUND hides what the caller may not see."""

    ALLOW = "allow"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"


def grant_for(cap: Capability) -> Grant:
    """The scope and role that grant ``cap`` — the one mapping for the whole platform."""
    match cap:
        case InstanceAdmin() | ApiKeysManage() | UsersManage():
            return Grant(Scope.INSTANCE_ADMIN, None)
        # Creating an app is instance-wide: only an unrestricted app:admin key
        # or an instance admin may do it (members exist only once the app does).
        case AppCreate():
            return Grant(Scope.APP_ADMIN, None)
        case AppList() | AppRead():
            return Grant(Scope.APP_READ, Role.VIEWER)
        case AppWrite():
            return Grant(Scope.APP_WRITE, Role.EDITOR)
        case AppAdmin() | AppMembersManage() | AppTopicManage():
            return Grant(Scope.APP_ADMIN, Role.ADMIN)
        # The audit log shows every change and who made it: app admins only.
        case EventsRead():
            return Grant(Scope.EVENTS_READ, Role.ADMIN)
        case ScriptRead() | AppKvRead() | AppDocsRead() | AppFilesRead():
            return Grant(Scope.SCRIPT_READ, Role.VIEWER)
        # Outbound HTTP can exfiltrate data, so it counts as a write.
        case (
            ScriptWrite()
            | AppKvWrite()
            | AppDocsWrite()
            | AppFilesWrite()
            | AppPubsubPublish()
            | AppHttpRequest()
        ):
            return Grant(Scope.SCRIPT_WRITE, Role.EDITOR)
        case AppManageTriggers() | AppDeadLetterManage():
            return Grant(Scope.APP_WRITE, Role.EDITOR)
    raise TypeError(f"unmapped capability {type(cap).__name__}")  # a new class must be mapped


def decide(principal: Principal, cap: Capability, member_role: str | None = None) -> Decision:
    """Whether ``principal`` has ``cap``; ``member_role`` is the user's role in ``cap``'s app."""
    grant = grant_for(cap)
    app_id = cap.app_id
    if principal.kind == "api_key":
        if principal.app_id is not None:
            # A restricted key sees nothing of other apps: not even that they exist.
            if app_id is not None and app_id != principal.app_id:
                return Decision.NOT_FOUND
            if app_id is None and not isinstance(cap, AppList):
                return Decision.FORBIDDEN
        if Scope.INSTANCE_ADMIN.value in principal.scopes or grant.scope.value in principal.scopes:
            return Decision.ALLOW
        return Decision.FORBIDDEN
    if principal.instance_admin:
        return Decision.ALLOW
    if app_id is None:
        # Any user may ask for the app list; it only holds apps they are a member of.
        return Decision.ALLOW if isinstance(cap, AppList) else Decision.FORBIDDEN
    if member_role is None:
        return Decision.NOT_FOUND
    if grant.role is not None and role_at_least(member_role, grant.role.value):
        return Decision.ALLOW
    return Decision.FORBIDDEN
