"""Trigger and dead-letter events: what makes a script run on another event, and what failed.

A trigger's events go in its stream ``trigger-<id>``; a dead letter's in
``deadletter-<id>``. Both carry the app id, so the app's audit log shows them.
A dead letter keeps everything needed to replay its job and to show an
operator why it failed (each attempt's error and time).
"""

from __future__ import annotations

from typing import Any

import msgspec

from picloud.events.types import Event

__all__ = [
    "Attempt",
    "DeadLetterExpired",
    "DeadLetterHandlerFailed",
    "DeadLetterReplayed",
    "DeadLetterResolved",
    "DeadLettered",
    "RetryPolicy",
    "TriggerCreated",
    "TriggerDeleted",
    "TriggerDisabled",
    "TriggerEnabled",
    "dead_letter_stream",
    "trigger_stream",
]


def trigger_stream(trigger_id: str) -> str:
    """The stream holding one trigger's history."""
    return f"trigger-{trigger_id}"


def dead_letter_stream(dead_letter_id: str) -> str:
    """The stream holding one dead letter's history."""
    return f"deadletter-{dead_letter_id}"


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How a failing job is retried: attempts in all, exponential backoff with jitter."""

    max_attempts: int
    backoff_base_ms: int
    backoff_max_ms: int


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """One failed run of a job."""

    attempt: int
    error: str
    at: str
    """RFC 3339 UTC time the attempt failed."""


class TriggerCreated(Event, frozen=True, tag="trigger.created"):
    """A trigger now runs ``script_id`` on matching events of its app."""

    trigger_id: str
    app_id: str
    kind: str
    script_id: str
    config: dict[str, Any]
    retry: RetryPolicy | None = None
    enabled: bool = True


class TriggerDeleted(Event, frozen=True, tag="trigger.deleted"):
    """A trigger was removed (jobs already in the outbox still run)."""

    trigger_id: str
    app_id: str


class TriggerEnabled(Event, frozen=True, tag="trigger.enabled"):
    """A disabled trigger fires again."""

    trigger_id: str
    app_id: str


class TriggerDisabled(Event, frozen=True, tag="trigger.disabled"):
    """A trigger stops firing until enabled (it is kept)."""

    trigger_id: str
    app_id: str


class DeadLettered(Event, frozen=True, kw_only=True, tag="dead_letter.created"):
    """A job failed every attempt (or Dramatiq gave up on it)."""

    dead_letter_id: str
    app_id: str
    job_id: str
    job_kind: str
    dedupe_key: str
    trigger_id: str | None = None
    script_id: str
    source_position: int | None = None
    source_event: Any = None
    payload: dict[str, Any]
    error: str
    attempts: list[Attempt] = msgspec.field(default_factory=list)


class DeadLetterReplayed(Event, frozen=True, tag="dead_letter.replayed"):
    """An operator or script re-ran a dead letter's job as ``job_id``."""

    dead_letter_id: str
    app_id: str
    job_id: str


class DeadLetterResolved(Event, frozen=True, tag="dead_letter.resolved"):
    """An operator or script marked a dead letter as dealt with."""

    dead_letter_id: str
    app_id: str


class DeadLetterHandlerFailed(Event, frozen=True, kw_only=True, tag="dead_letter.handler_failed"):
    """A ``dead_letter`` trigger's handler failed on it; by rule nothing more happens."""

    dead_letter_id: str
    app_id: str
    trigger_id: str | None = None
    error: str


class DeadLetterExpired(Event, frozen=True, tag="dead_letter.expired"):
    """A resolved dead letter passed PICLOUD_DEAD_LETTER_RETENTION_DAYS and left the table."""

    dead_letter_id: str
    app_id: str
