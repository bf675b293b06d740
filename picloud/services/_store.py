"""The services' one path into the event log, with unique-key violations turned into 409s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

# Imported for their side effect: registering the identity and apps
# projections, so every append made through here updates the read models.
import picloud.projections.apps
import picloud.projections.identity  # noqa: F401
from picloud.errors import Conflict
from picloud.events.store import append
from picloud.events.types import Event, RecordedEvent
from picloud.services.context import CommandContext

__all__ = ["NEW_STREAM", "UNIQUE_FIELDS", "emit"]

#: The expected version of a stream that does not exist yet.
NEW_STREAM = 0

#: Projection unique constraints → the input field a client should change.
UNIQUE_FIELDS: dict[str, str] = {
    "users_email_key": "email",
    "apps_slug_key": "slug",
    "app_hostnames_pkey": "hostnames",
}


def _unique_violation(exc: BaseException | None) -> asyncpg.UniqueViolationError | None:
    # The store may wrap a projection's failure; look through the cause chain.
    while exc is not None:
        if isinstance(exc, asyncpg.UniqueViolationError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


async def emit(
    conn: Any,
    ctx: CommandContext,
    stream: str,
    expected_version: int,
    events: Sequence[Event],
    *,
    app_id: str | None = None,
) -> list[RecordedEvent]:
    """Append ``events`` with the command's metadata (caller holds the transaction).

    A projection's unique constraint is the backstop against two concurrent
    commands that both passed their pre-checks: the loser's transaction fails
    and nothing of it is written.
    """
    try:
        return await append(conn, stream, expected_version, list(events), ctx.meta(), app_id=app_id)
    except Exception as exc:
        violation = _unique_violation(exc)
        if violation is None:
            raise
        field = UNIQUE_FIELDS.get(violation.constraint_name or "", "value")
        raise Conflict(
            f"{field}: already in use",
            code=f"duplicate_{field.rstrip('s')}",
            details={"field": field},
        ) from None
