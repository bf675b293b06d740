"""The projection protocol and registry.

A projection keeps read-model tables (its ``tables``) as a pure function of the
event log. :func:`picloud.events.append` calls ``apply`` for every event whose
type is in ``handles``, inside the append transaction and under the app's
append lock, so a script that writes and then reads sees its write. The
rebuild path (:mod:`picloud.projections.rebuild`) calls the very same
``apply`` with another ``schema`` to replay the log into shadow tables.

Rules that keep "rebuild equals live" true:

* every column value comes from the event (``event.recorded_at``,
  ``event.position``, the payload) or from rows the projection itself owns —
  never ``now()``, a sequence, ``random()`` or another process's state;
* SQL addresses tables as ``table_ref(schema, name)``, never a bare name;
* ``apply`` never calls Redis, sends jobs or writes outbox rows (side effects
  belong to the command that appended);
* rows carry ``last_position`` (the position of the last event that changed
  them) where that makes sense.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    # Only for annotations: picloud.events.store imports this module.
    import asyncpg

    from picloud.events.types import RecordedEvent

__all__ = [
    "BaseProjection",
    "Projection",
    "all_projections",
    "projections_for",
    "quote_ident",
    "register_projection",
    "registered_projection",
    "table_ref",
    "unregister_projection",
]


@runtime_checkable
class Projection(Protocol):
    """A read model maintained from the event log."""

    name: str
    """Unique name (``"apps"``, ``"kv"``…)."""
    tables: tuple[str, ...]
    """The live tables (in ``public``) this projection owns, parents before children."""
    handles: frozenset[str]
    """Event type tags it applies."""

    async def apply(
        self, conn: asyncpg.Connection, event: RecordedEvent, schema: str = "public"
    ) -> None:
        """Fold one event into the tables in ``schema``."""
        ...

    async def reset(self, conn: asyncpg.Connection, schema: str = "public") -> None:
        """Empty the tables in ``schema``."""
        ...


class BaseProjection:
    """Convenience base: subclasses set ``name``/``tables``/``handles`` and write ``apply``."""

    name: str = ""
    tables: tuple[str, ...] = ()
    handles: frozenset[str] = frozenset()

    async def apply(
        self, conn: asyncpg.Connection, event: RecordedEvent, schema: str = "public"
    ) -> None:
        """Fold one event into the tables in ``schema``."""
        raise NotImplementedError

    async def reset(self, conn: asyncpg.Connection, schema: str = "public") -> None:
        """Delete every row, children first (DELETE, not TRUNCATE, so FKs from elsewhere hold)."""
        for table in reversed(self.tables):
            await conn.execute(f"DELETE FROM {table_ref(schema, table)}")


_registry: dict[str, Projection] = {}
_by_type: dict[str, tuple[Projection, ...]] = {}


def register_projection(projection: Projection) -> Projection:
    """Register ``projection`` (by name); registering the same name twice is an error."""
    if not isinstance(projection, Projection):
        raise TypeError(f"{projection!r} does not implement the Projection protocol")
    if not projection.name:
        raise ValueError("a projection needs a name")
    existing = _registry.get(projection.name)
    if existing is not None and existing is not projection:
        raise ValueError(f"a projection named {projection.name!r} is already registered")
    _registry[projection.name] = projection
    _by_type.clear()
    return projection


def unregister_projection(name: str) -> None:
    """Remove a projection (tests use this to register one only for themselves)."""
    _registry.pop(name, None)
    _by_type.clear()


@contextmanager
def registered_projection(projection: Projection) -> Iterator[Projection]:
    """Register ``projection`` for the duration of a ``with`` block."""
    register_projection(projection)
    try:
        yield projection
    finally:
        unregister_projection(projection.name)


def projections_for(event_type: str) -> tuple[Projection, ...]:
    """The projections handling ``event_type``, in registration order."""
    found = _by_type.get(event_type)
    if found is None:
        found = tuple(p for p in _registry.values() if event_type in p.handles)
        _by_type[event_type] = found
    return found


def all_projections() -> tuple[Projection, ...]:
    """Every registered projection, in registration order."""
    return tuple(_registry.values())


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def table_ref(schema: str, table: str) -> str:
    """``"schema"."table"``, safe to splice into SQL."""
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def _iter_tables(projections: Iterable[Projection]) -> list[str]:
    """Every table owned by ``projections``, deduplicated, in order."""
    seen: dict[str, None] = {}
    for p in projections:
        for t in p.tables:
            seen.setdefault(t, None)
    return list(seen)
