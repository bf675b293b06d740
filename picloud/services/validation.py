"""Input rules shared by the HTTP API and the CLI; each failure names its field."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from picloud.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from picloud.auth.scopes import ALL_SCOPES, ROLE_RANK, Scope
from picloud.errors import InvalidInput

__all__ = [
    "MAX_HOSTNAMES",
    "check_email",
    "check_future",
    "check_hostnames",
    "check_name",
    "check_password",
    "check_role",
    "check_scopes",
    "check_slug",
    "is_uuid",
]

# A DNS label: lowercase letters, digits and inner hyphens, 1–63 characters.
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_HOSTNAMES = 32
MAX_NAME = 200


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", details={"field": field})


def is_uuid(text: str) -> bool:
    """Whether ``text`` parses as a UUID (so it is taken as an id, not a slug)."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def check_slug(slug: str, field: str = "slug") -> str:
    """A valid slug: a lowercase DNS label that is not also a UUID."""
    if not _LABEL.match(slug):
        raise _bad(
            field,
            "must be 1-63 lowercase letters, digits or hyphens, not starting or ending"
            " with a hyphen",
        )
    if is_uuid(slug):
        # {app} in a path accepts an id or a slug; a UUID-shaped slug would be ambiguous.
        raise _bad(field, "must not have the form of a UUID")
    return slug


def check_name(name: str, field: str = "name") -> str:
    """A display name: 1–200 characters after trimming."""
    name = name.strip()
    if not name:
        raise _bad(field, "must not be empty")
    if len(name) > MAX_NAME:
        raise _bad(field, f"must be at most {MAX_NAME} characters")
    return name


def check_hostnames(
    hostnames: Iterable[str], field: str = "hostnames", *, base_domain: str | None = None
) -> list[str]:
    """Lower-cased, distinct DNS hostnames (no port, no trailing dot).

    With ``base_domain``, the base domain and its subdomains are refused:
    ``{slug}.{base_domain}`` already names each app, so a custom hostname
    there could shadow another app's slug.
    """
    base = base_domain.strip().lower().rstrip(".") if base_domain else None
    out: list[str] = []
    for i, raw in enumerate(hostnames):
        host = raw.strip().lower()
        if len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
            raise InvalidInput(
                f"{field}[{i}]: {raw!r} is not a valid hostname", details={"field": f"{field}[{i}]"}
            )
        if base and (host == base or host.endswith("." + base)):
            raise InvalidInput(
                f"{field}[{i}]: {raw!r} is under the base domain {base!r}, where apps are"
                " reached by slug",
                details={"field": f"{field}[{i}]"},
            )
        if host in out:
            raise InvalidInput(
                f"{field}[{i}]: {raw!r} is listed twice", details={"field": f"{field}[{i}]"}
            )
        out.append(host)
    if len(out) > MAX_HOSTNAMES:
        raise _bad(field, f"at most {MAX_HOSTNAMES} hostnames")
    return out


def check_email(email: str, field: str = "email") -> str:
    """A plausible email address, lower-cased so lookups are case-insensitive."""
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise _bad(field, "is not a valid email address")
    return email


def check_password(password: str, field: str = "password") -> str:
    """A password of 8–1024 characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise _bad(field, f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise _bad(field, f"must be at most {MAX_PASSWORD_LENGTH} characters")
    return password


def check_scopes(scopes: Iterable[str], *, restricted: bool, field: str = "scopes") -> list[str]:
    """A non-empty list of known scopes, sorted and without repeats."""
    out = sorted(set(scopes))
    if not out:
        raise _bad(field, "at least one scope is required")
    unknown = [s for s in out if s not in ALL_SCOPES]
    if unknown:
        raise InvalidInput(
            f"{field}: unknown scope {unknown[0]!r}; known: {', '.join(sorted(ALL_SCOPES))}",
            details={"field": field},
        )
    if restricted and Scope.INSTANCE_ADMIN.value in out:
        # instance:admin means the whole instance; it cannot be confined to one app.
        raise _bad(field, "instance:admin cannot be given to a key restricted to an app")
    return out


def check_role(role: str, field: str = "role") -> str:
    """One of viewer, editor, admin."""
    if role not in ROLE_RANK:
        raise _bad(field, "must be one of viewer, editor, admin")
    return role


def check_future(when: datetime | None, field: str = "expires_at") -> datetime | None:
    """A timezone-aware time in the future, or None."""
    if when is None:
        return None
    if when.tzinfo is None:
        raise _bad(field, "must include a timezone (e.g. 2030-01-01T00:00:00Z)")
    if when <= datetime.now(UTC):
        raise _bad(field, "must be in the future")
    return when
