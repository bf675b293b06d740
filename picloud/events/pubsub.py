"""Pub/sub events: every durable publish of an app, on one stream per topic.

A topic's publishes go in ``pubsub-<app id>-<topic>`` (see :func:`pubsub_stream`):
the app id has a fixed length, so the name is unambiguous, and an SSE resume
reads exactly one stream after a position. The message is in stored JSON form
(:mod:`picloud.sdk._values`: a Blob is a ``$picloud`` marker with base64).
"""

from __future__ import annotations

from typing import Any

from picloud.events.types import Event

__all__ = ["PUBLISHED", "PubsubPublished", "pubsub_stream"]

#: The tag of a publish event (what the SSE replay and the trigger kind look for).
PUBLISHED = "pubsub.published"


def pubsub_stream(app_id: str, topic: str) -> str:
    """The stream holding one topic's publishes."""
    return f"pubsub-{app_id}-{topic}"


class PubsubPublished(Event, frozen=True, tag="pubsub.published"):
    """A script published ``message`` on ``topic``; ``published_at`` is RFC 3339 UTC."""

    app_id: str
    topic: str
    message: Any
    published_at: str
