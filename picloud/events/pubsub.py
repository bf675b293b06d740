"""Pub/sub events: every durable publish of an app, on one stream per topic; the topic registry.

A topic's publishes go in ``pubsub-<app id>-<topic>`` (see :func:`pubsub_stream`):
the app id has a fixed length, so the name is unambiguous, and an SSE resume
reads exactly one stream after a position. The message is in stored JSON form
(:mod:`picloud.sdk._values`: a Blob is a ``$picloud`` marker with base64).

Registered topics (what SSE may expose) have their own streams,
``topic-<app id>-<name>``; publishing never needs a registered topic.
"""

from __future__ import annotations

from typing import Any

from picloud.events.types import Event

__all__ = [
    "PUBLISHED",
    "PubsubPublished",
    "SubscriberKeyRotated",
    "TopicCreated",
    "TopicDeleted",
    "TopicUpdated",
    "pubsub_stream",
    "realtime_stream",
    "topic_stream",
]

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


def topic_stream(app_id: str, name: str) -> str:
    """The stream holding one registered topic's history (creation, changes, deletion)."""
    return f"topic-{app_id}-{name}"


class TopicCreated(Event, frozen=True, kw_only=True, tag="topic.created"):
    """A topic was registered; internal (no SSE) unless ``external_subscribable``."""

    app_id: str
    name: str
    external_subscribable: bool = False
    auth_mode: str = "token"
    """``public`` (anyone may subscribe) or ``token`` (a subscriber token is needed)."""


class TopicUpdated(Event, frozen=True, kw_only=True, tag="topic.updated"):
    """A topic's exposure changed; both fields are the values after the change."""

    app_id: str
    name: str
    external_subscribable: bool
    auth_mode: str


class TopicDeleted(Event, frozen=True, kw_only=True, tag="topic.deleted"):
    """A topic was unregistered (its publishes stay in the log)."""

    app_id: str
    name: str


def realtime_stream(app_id: str) -> str:
    """The stream of an app's realtime-wide facts (subscriber-token key rotations)."""
    return f"realtime-{app_id}"


class SubscriberKeyRotated(Event, frozen=True, tag="realtime.subscriber_key_rotated"):
    """The app's subscriber-token signing key was replaced; the key itself is never logged."""

    app_id: str
