"""Durable pub/sub: a publish is one event in the log, then a best-effort broadcast.

:func:`publish` appends ``pubsub.published`` to the topic's stream in its own
transaction; the append hook of picloud/outbox/writer.py writes, in that same
transaction, one outbox row per matching ``pubsub`` trigger (none when nobody
listens: the publish still succeeds). After COMMIT the caller announces the
position on Redis (:mod:`picloud.realtime.broadcaster`); that announcement is a
wake-up for SSE streams, which read the message itself from the log, so a lost
announcement delays nothing that a resume or the next wake-up cannot fill.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from picloud.errors import InvalidInput, PayloadTooLarge
from picloud.events.pubsub import PubsubPublished, pubsub_stream
from picloud.events.store import append
from picloud.events.types import EventMeta, RecordedEvent

__all__ = ["MAX_MESSAGE_BYTES", "TOPIC_PATTERN", "check_topic", "encode_message", "publish"]

#: A topic name: 1-128 letters, digits, '_', '-', '.'; '.' separates levels for ``prefix.*``.
TOPIC_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
#: Largest message, as stored JSON (it travels in the log, the outbox and every SSE frame).
MAX_MESSAGE_BYTES = 256 * 1024


def check_topic(topic: Any) -> str:
    """A valid topic name, or ``InvalidInput`` (``pubsub_invalid_topic``)."""
    if not isinstance(topic, str) or not TOPIC_PATTERN.match(topic):
        raise InvalidInput(
            "topic must be 1-128 letters, digits, '_', '-' or '.', not starting with '-' or '.'",
            code="pubsub_invalid_topic",
            details={"field": "topic"},
        )
    return str(topic)


def encode_message(stored: Any) -> bytes:
    """The stored message as JSON bytes, refused over :data:`MAX_MESSAGE_BYTES`."""
    try:
        data = msgspec.json.encode(stored)
    except UnicodeEncodeError:
        raise InvalidInput(
            "message: holds text that is not valid Unicode (a lone surrogate)",
            code="unsupported_value",
            details={"field": "message"},
        ) from None
    if len(data) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(
            f"message is {len(data)} bytes as stored JSON, over the limit of {MAX_MESSAGE_BYTES}",
            code="pubsub_message_too_large",
            details={"field": "message", "max_bytes": MAX_MESSAGE_BYTES},
        )
    return data


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def publish(
    conn: Any, meta: EventMeta, app_id: str, topic: str, message: bytes
) -> RecordedEvent:
    """Append the publish (and its trigger outbox rows) and commit; the recorded event."""
    event = PubsubPublished(
        app_id=app_id, topic=topic, message=msgspec.Raw(message), published_at=_now()
    )
    async with conn.transaction():
        # Any stream version: publishes never conflict, the app lock orders them.
        recorded = await append(
            conn, pubsub_stream(app_id, topic), None, [event], meta, app_id=app_id
        )
    return recorded[0]
