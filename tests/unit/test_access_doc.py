"""docs/access.md's capability table says exactly what grant_for says."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from picloud.auth import capabilities as caps

DOC = Path(__file__).resolve().parents[2] / "docs" / "access.md"


def _documented() -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[1].startswith("`"):
            continue
        scope = re.search(r"`([a-z:]+)`", cells[1])
        assert scope is not None, line
        role = cells[2].split()[0]
        for name in re.findall(r"[A-Z][A-Za-z]+", cells[0]):
            rows[name] = (scope.group(1), role)
    return rows


def _capability_classes() -> list[type[caps.Capability]]:
    return [
        obj
        for name in caps.__all__
        if inspect.isclass(obj := getattr(caps, name))
        and issubclass(obj, caps.Capability)
        and obj is not caps.Capability
    ]


def test_every_capability_is_documented_with_its_scope_and_role() -> None:
    # Given the capability table of docs/access.md
    documented = _documented()
    for cls in _capability_classes():
        fields = getattr(cls, "__dataclass_fields__", {})
        cap = cls(*(["00000000-0000-0000-0000-000000000000"] * len(fields)))
        grant = caps.grant_for(cap)
        # Then each capability's row names the scope and role grant_for gives it
        assert cls.__name__ in documented, f"{cls.__name__} missing from docs/access.md"
        scope, role = documented[cls.__name__]
        assert scope == grant.scope.value, cls.__name__
        expected_role = grant.role.value if grant.role is not None else "instance"
        assert role == expected_role, cls.__name__
