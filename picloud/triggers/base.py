"""The trigger-kind framework: one small module per kind, registered here.

A kind says which logged event types it reacts to, how its admin fields are
checked, whether an event matches one trigger's fields, and what the handler
sees as ``ctx.event``. Adding files, pubsub or cron later is one module with a
``TriggerKind`` subclass and a ``register_kind`` call; the outbox writer, the
admin API and the worker never change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from picloud.errors import InvalidInput
from picloud.events.types import RecordedEvent

__all__ = [
    "TriggerKind",
    "all_kinds",
    "bad_field",
    "get_kind",
    "kinds_for",
    "register_kind",
    "rfc3339",
]


def bad_field(field: str, message: str, code: str = "invalid_trigger") -> InvalidInput:
    """400 naming the trigger field that is wrong."""
    return InvalidInput(f"{field}: {message}", code=code, details={"field": field})


def rfc3339(at: datetime) -> str:
    """``at`` as RFC 3339 UTC with milliseconds (what ``ctx.event.recorded_at`` holds)."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TriggerKind:
    """Base of a trigger kind; subclasses set ``name``/``source_types`` and override the hooks."""

    name: ClassVar[str] = ""
    """The ``{kind}`` of ``POST …/triggers/{kind}`` and ``ctx.event.source``."""
    source_types: ClassVar[frozenset[str]] = frozenset()
    """Event tags that may fire triggers of this kind."""
    #: Whether a failing handler is retried and dead-lettered (dead-letter handlers are not).
    dead_letters: ClassVar[bool] = True

    def parse_config(self, body: dict[str, Any]) -> dict[str, Any]:
        """The kind's fields from a create request, checked (``InvalidInput`` naming the field)."""
        raise NotImplementedError

    def matches(self, config: dict[str, Any], event: RecordedEvent) -> bool:
        """Whether ``event`` fires a trigger with ``config``."""
        raise NotImplementedError

    def op(self, event: RecordedEvent) -> str:
        """``ctx.event.op`` for ``event``."""
        raise NotImplementedError

    def detail(self, event: RecordedEvent) -> dict[str, Any]:
        """``ctx.event.<source>``: the kind's part of the event (stored JSON form)."""
        raise NotImplementedError

    def ctx_event(self, event: RecordedEvent) -> dict[str, Any]:
        """The whole ``ctx.event`` map: ``#{source, op, position, recorded_at, <source>: …}``."""
        return {
            "source": self.name,
            "op": self.op(event),
            "position": event.position,
            "recorded_at": rfc3339(event.recorded_at),
            self.name: self.detail(event),
        }


_kinds: dict[str, TriggerKind] = {}
_by_type: dict[str, tuple[TriggerKind, ...]] = {}


def register_kind(kind: TriggerKind) -> TriggerKind:
    """Register a kind by name (the same name twice is a programming error)."""
    if not kind.name:
        raise ValueError("a trigger kind needs a name")
    other = _kinds.get(kind.name)
    if other is not None and type(other) is not type(kind):
        raise ValueError(f"trigger kind {kind.name!r} is already registered")
    _kinds[kind.name] = kind
    _by_type.clear()
    return kind


def get_kind(name: str) -> TriggerKind:
    """The kind called ``name`` (400 ``invalid_trigger_kind`` otherwise)."""
    _load_builtin()
    kind = _kinds.get(name)
    if kind is None:
        raise InvalidInput(
            f"kind: must be one of {', '.join(sorted(_kinds))}",
            code="invalid_trigger_kind",
            details={"field": "kind"},
        )
    return kind


def all_kinds() -> dict[str, TriggerKind]:
    """Every registered kind by name."""
    _load_builtin()
    return dict(_kinds)


def kinds_for(event_type: str) -> tuple[TriggerKind, ...]:
    """The kinds an event of ``event_type`` may fire (cached)."""
    found = _by_type.get(event_type)
    if found is None:
        _load_builtin()
        found = tuple(k for k in _kinds.values() if event_type in k.source_types)
        _by_type[event_type] = found
    return found


_BUILTIN = (
    "picloud.triggers.kv",
    "picloud.triggers.docs",
    "picloud.triggers.dead_letter",
    "picloud.triggers.pubsub",
)
_loaded = False


def _load_builtin() -> None:
    """Import the built-in kind modules once (each registers itself)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for name in _BUILTIN:
        importlib.import_module(name)
