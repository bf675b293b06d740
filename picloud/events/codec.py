"""The one mapper between typed events and stored rows.

``data`` holds the event's JSON with its ``"type"`` tag (so the union decoder
reads it straight from the column text), ``type`` and ``schema_version`` are
columns of their own, and ``meta`` holds :class:`EventMeta` without defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from picloud.errors import InvalidInput
from picloud.events.types import (
    Event,
    EventMeta,
    RecordedEvent,
    UnknownEvent,
    _decoder,
    event_class,
)

__all__ = ["ROW_COLUMNS", "EncodedEvent", "decode_row", "encode_event", "encode_meta"]

_encode = msgspec.json.encode
_meta_decoder = msgspec.json.Decoder(EventMeta)
_dict_decoder = msgspec.json.Decoder(dict[str, Any])

#: The SELECT list :func:`decode_row` expects (json columns as text, decoded here).
ROW_COLUMNS = (
    "position, app_id, stream, version, type, schema_version,"
    " data::text AS data, meta::text AS meta, recorded_at"
)


class EncodedEvent(msgspec.Struct, frozen=True):
    """An event ready for the INSERT: its tag, schema version and JSON text."""

    type: str
    schema_version: int
    data: str


def encode_event(event: Event) -> EncodedEvent:
    """Encode one event; it must be an instance of a registered event class."""
    if not isinstance(event, Event):
        raise InvalidInput(
            f"cannot append {type(event).__name__}: not an Event", code="invalid_event"
        )
    tag = type(event).__struct_config__.tag
    if not isinstance(tag, str) or event_class(tag) is not type(event):
        raise InvalidInput(
            f"cannot append {type(event).__qualname__}: it has no registered event tag",
            code="invalid_event",
        )
    return EncodedEvent(tag, type(event).schema_version, _encode(event).decode())


def encode_meta(meta: EventMeta) -> str:
    """Encode metadata for the ``meta`` column."""
    return _encode(meta).decode()


def decode_row(row: Mapping[str, Any]) -> RecordedEvent:
    """A stored row (selected with :data:`ROW_COLUMNS`) as a :class:`RecordedEvent`."""
    tag: str = row["type"]
    payload: str = row["data"]
    event: Event | UnknownEvent
    if event_class(tag) is not None:
        event = _decoder().decode(payload)
    else:
        data = _dict_decoder.decode(payload)
        data.pop("type", None)
        event = UnknownEvent(type=tag, data=data)
    app_id = row["app_id"]
    return RecordedEvent(
        position=row["position"],
        app_id=None if app_id is None else str(app_id),
        stream=row["stream"],
        version=row["version"],
        type=tag,
        schema_version=row["schema_version"],
        event=event,
        meta=_meta_decoder.decode(row["meta"]),
        recorded_at=row["recorded_at"],
    )
