"""The capability table: seven scopes, one mapping, and how it is applied to principals."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from picloud.auth import capabilities as caps
from picloud.auth.capabilities import Capability, Decision, decide, grant_for
from picloud.auth.principal import Principal
from picloud.auth.scopes import ALL_SCOPES, Role, Scope


def _all_capabilities() -> list[Capability]:
    """One instance of every capability class the module exports."""
    out: list[Capability] = []
    for name in caps.__all__:
        cls = getattr(caps, name)
        if isinstance(cls, type) and issubclass(cls, Capability) and cls is not Capability:
            fields = getattr(cls, "__dataclass_fields__", {})
            out.append(cls("app-1") if "app" in fields else cls())
    return out


def test_there_are_exactly_seven_scopes() -> None:
    assert ALL_SCOPES == {
        "instance:admin",
        "app:read",
        "app:write",
        "app:admin",
        "script:read",
        "script:write",
        "events:read",
    }


@pytest.mark.parametrize("cap", _all_capabilities(), ids=lambda c: type(c).__name__)
def test_every_capability_maps_to_one_of_the_seven_scopes(cap: Capability) -> None:
    grant = grant_for(cap)
    assert grant.scope in set(Scope)
    assert grant.role is None or grant.role in set(Role)


@pytest.mark.parametrize(
    ("cap", "scope", "role"),
    [
        (caps.AppRead("a"), "app:read", "viewer"),
        (caps.AppWrite("a"), "app:write", "editor"),
        (caps.AppAdmin("a"), "app:admin", "admin"),
        (caps.AppMembersManage("a"), "app:admin", "admin"),
        (caps.AppTopicManage("a"), "app:admin", "admin"),
        (caps.EventsRead("a"), "events:read", "admin"),
        (caps.ScriptRead("a"), "script:read", "viewer"),
        (caps.ScriptWrite("a"), "script:write", "editor"),
        (caps.AppKvRead("a"), "script:read", "viewer"),
        (caps.AppDocsWrite("a"), "script:write", "editor"),
        (caps.AppFilesRead("a"), "script:read", "viewer"),
        (caps.AppPubsubPublish("a"), "script:write", "editor"),
        (caps.AppHttpRequest("a"), "script:write", "editor"),
        (caps.AppManageTriggers("a"), "app:write", "editor"),
        (caps.AppDeadLetterManage("a"), "app:write", "editor"),
        (caps.InstanceAdmin(), "instance:admin", None),
        (caps.ApiKeysManage(), "instance:admin", None),
        (caps.AppCreate(), "app:admin", None),
    ],
)
def test_documented_mappings(cap: Capability, scope: str, role: str | None) -> None:
    grant = grant_for(cap)
    assert grant.scope.value == scope
    assert (grant.role.value if grant.role else None) == role


def test_an_unmapped_capability_is_a_programming_error() -> None:
    @dataclass(frozen=True, slots=True)
    class Mystery(Capability):
        pass

    with pytest.raises(TypeError, match="unmapped capability Mystery"):
        grant_for(Mystery())


def key(*scopes: str, app: str | None = None) -> Principal:
    return Principal(kind="api_key", id="k", scopes=frozenset(scopes), app_id=app)


def user(admin: bool = False) -> Principal:
    return Principal(kind="user", id="u", instance_admin=admin)


@pytest.mark.parametrize(
    ("principal", "cap", "role", "want"),
    [
        (key("app:read"), caps.AppRead("a"), None, Decision.ALLOW),
        (key("app:read"), caps.AppWrite("a"), None, Decision.FORBIDDEN),
        (key("instance:admin"), caps.AppTopicManage("a"), None, Decision.ALLOW),
        (key("app:read", app="a"), caps.AppRead("a"), None, Decision.ALLOW),
        (key("app:read", app="a"), caps.AppRead("b"), None, Decision.NOT_FOUND),
        (key("app:read", app="a"), caps.AppAdmin("b"), None, Decision.NOT_FOUND),
        (key("app:admin", app="a"), caps.AppCreate(), None, Decision.FORBIDDEN),
        (key("app:read", app="a"), caps.AppList(), None, Decision.ALLOW),
        (user(admin=True), caps.InstanceAdmin(), None, Decision.ALLOW),
        (user(admin=True), caps.AppAdmin("a"), None, Decision.ALLOW),
        (user(), caps.AppRead("a"), None, Decision.NOT_FOUND),
        (user(), caps.AppRead("a"), "viewer", Decision.ALLOW),
        (user(), caps.AppWrite("a"), "viewer", Decision.FORBIDDEN),
        (user(), caps.AppWrite("a"), "editor", Decision.ALLOW),
        (user(), caps.AppAdmin("a"), "editor", Decision.FORBIDDEN),
        (user(), caps.AppAdmin("a"), "admin", Decision.ALLOW),
        (user(), caps.EventsRead("a"), "editor", Decision.FORBIDDEN),
        (user(), caps.AppList(), None, Decision.ALLOW),
        (user(), caps.AppCreate(), None, Decision.FORBIDDEN),
        (user(), caps.ApiKeysManage(), None, Decision.FORBIDDEN),
    ],
)
def test_decide(principal: Principal, cap: Capability, role: str | None, want: Decision) -> None:
    assert decide(principal, cap, role) is want


def test_actor_names_match_the_event_log() -> None:
    assert user().actor == "user:u"
    assert key("app:read").actor == "key:k"
