"""The event log: typed events, their metadata, and the append/read API."""

from __future__ import annotations

from picloud.events.store import (
    NOTIFY_CHANNEL,
    DuplicateAppend,
    append,
    last_position,
    lock_app,
    notify_committed,
    read_all,
    read_app,
    read_stream,
    stream_version,
)
from picloud.events.types import (
    Event,
    EventMeta,
    RecordedEvent,
    UnknownEvent,
    decode_event,
    event_class,
    event_types,
)

__all__ = [
    "NOTIFY_CHANNEL",
    "DuplicateAppend",
    "Event",
    "EventMeta",
    "RecordedEvent",
    "UnknownEvent",
    "append",
    "decode_event",
    "event_class",
    "event_types",
    "last_position",
    "lock_app",
    "notify_committed",
    "read_all",
    "read_app",
    "read_stream",
    "stream_version",
]
