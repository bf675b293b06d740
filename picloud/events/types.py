"""Typed events: the ``Event`` base, its metadata and the recorded form.

A concrete event is a frozen msgspec Struct with a stable dotted tag::

    class AppCreated(Event, tag="app.created"):
        app_id: str
        slug: str
        hostnames: list[str] = []     # added later: a default keeps old payloads decodable

Subclassing registers it; a subclass without a dotted tag is an abstract base
(shared fields) and is not registered. The tag, never the class path, is what
the log stores, so classes can move freely. A breaking change gets a new tag.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar, Union

import msgspec

from picloud.errors import InvalidInput

__all__ = [
    "ACTOR_KINDS",
    "Event",
    "EventMeta",
    "RecordedEvent",
    "UnknownEvent",
    "decode_event",
    "event_class",
    "event_types",
]

#: Prefixes an actor may carry (``"<kind>:<id>"``), plus the bare ``"system"``.
ACTOR_KINDS = ("user", "key", "script", "trigger", "cron")

_TAG = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_ACTOR = re.compile(rf"^(system|({'|'.join(ACTOR_KINDS)}):[^\s:][^\s]*)$")


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every event type; subclass with ``tag="area.verb"``."""

    #: Bumped only for a compatible change a reader may want to know about;
    #: a breaking change gets a new tag instead.
    schema_version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # msgspec fills __struct_config__ (and so the tag) only after this hook
        # returns, so registration is resolved lazily on first use.
        _pending.append(cls)
        _state.decoder = None


class UnknownEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Stands in for a logged event whose type no loaded module defines."""

    type: str
    data: dict[str, Any]


class EventMeta(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who and why: stored with every event of one append."""

    actor: str | None = None
    """``user:<id>``, ``key:<id>``, ``script:<id>``, ``trigger:<id>``, ``cron:<id>`` or ``system``."""
    request_id: str | None = None
    """The HTTP request (or job) that caused the append."""
    correlation_id: str | None = None
    """Shared by every event of one causal chain."""
    causation_position: int | None = None
    """Position of the event that caused this one (a trigger's source event)."""
    trigger_depth: int = 0
    """How many trigger hops led here; checked against PICLOUD_MAX_TRIGGER_DEPTH."""
    idempotency_key: str | None = None
    """Jobs set it (e.g. their dedupe key): a second append with it is refused."""

    def __post_init__(self) -> None:
        if self.actor is not None and not _ACTOR.match(self.actor):
            raise InvalidInput(
                f"event actor {self.actor!r} must be 'system' or '<kind>:<id>' with kind one of "
                + ", ".join(ACTOR_KINDS),
                code="invalid_event_meta",
                details={"field": "actor"},
            )
        if self.trigger_depth < 0:
            raise InvalidInput(
                "trigger_depth must be >= 0",
                code="invalid_event_meta",
                details={"field": "trigger_depth"},
            )
        if self.idempotency_key is not None and not 0 < len(self.idempotency_key) <= 256:
            raise InvalidInput(
                "idempotency_key must be 1 to 256 characters",
                code="invalid_event_meta",
                details={"field": "idempotency_key"},
            )
        if self.causation_position is not None and self.causation_position < 1:
            raise InvalidInput(
                "causation_position must be a log position (>= 1)",
                code="invalid_event_meta",
                details={"field": "causation_position"},
            )

    @classmethod
    def system(cls, **kwargs: Any) -> EventMeta:
        """Metadata for something the platform does on its own."""
        return cls(actor="system", **kwargs)

    def caused_by(self, cause: RecordedEvent, *, actor: str | None = None) -> EventMeta:
        """Metadata for an event caused by ``cause`` (one trigger hop further)."""
        return EventMeta(
            actor=actor if actor is not None else self.actor,
            request_id=self.request_id,
            correlation_id=cause.meta.correlation_id or self.correlation_id,
            causation_position=cause.position,
            trigger_depth=cause.meta.trigger_depth + 1,
        )


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as stored in the log, with its position and metadata."""

    position: int
    app_id: str | None
    stream: str
    version: int
    type: str
    schema_version: int
    event: Event | UnknownEvent
    meta: EventMeta
    recorded_at: datetime


class _State:
    def __init__(self) -> None:
        self.registry: dict[str, type[Event]] = {}
        self.decoder: msgspec.json.Decoder[Any] | None = None


_state = _State()
_pending: list[type[Event]] = []


def _flush() -> dict[str, type[Event]]:
    """Register classes defined since the last call; duplicate tags are a programming error."""
    while _pending:
        cls = _pending.pop(0)
        tag = cls.__struct_config__.tag
        if not isinstance(tag, str) or tag == cls.__name__:
            continue  # no explicit tag: an abstract base holding shared fields
        if not _TAG.match(tag):
            raise TypeError(f"{cls.__qualname__}: event tag {tag!r} must look like 'area.verb'")
        other = _state.registry.get(tag)
        if other is not None and (other.__module__, other.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__} reuses event tag {tag!r} of "
                f"{other.__module__}.{other.__qualname__}; give it its own tag"
            )
        _state.registry[tag] = cls
    return _state.registry


def event_types() -> dict[str, type[Event]]:
    """Every registered event type by tag."""
    return dict(_flush())


def event_class(tag: str) -> type[Event] | None:
    """The class registered for ``tag``, or ``None``."""
    return _flush().get(tag)


def _decoder() -> msgspec.json.Decoder[Any]:
    """The one union decoder over every registered type, rebuilt only when types are added."""
    registry = _flush()
    if _state.decoder is None:
        if not registry:
            raise LookupError("no event types are registered")
        union: Any = Union[tuple(registry.values())]  # noqa: UP007 - built at runtime
        _state.decoder = msgspec.json.Decoder(union)
    return _state.decoder


def decode_event(payload: bytes | str) -> Event:
    """Decode a stored payload (JSON carrying its ``"type"`` tag) to its event class."""
    return _decoder().decode(payload)  # type: ignore[no-any-return]
