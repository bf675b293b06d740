"""The job an outbox row holds: everything a worker needs to run a handler once."""

from __future__ import annotations

from typing import Any

import msgspec

from picloud.events.triggers import RetryPolicy

__all__ = ["JOB_KINDS", "JobPayload", "decode_payload", "encode_payload"]

#: ``trigger``: a trigger fired by an event; ``route``: an async HTTP route.
JOB_KINDS = ("trigger", "route")


class JobPayload(msgspec.Struct, frozen=True, kw_only=True):
    """One job: which script runs, with what ``ctx``, under which retry policy."""

    job_id: str
    kind: str
    app_id: str
    script_id: str
    trigger_id: str | None = None
    trigger_kind: str | None = None
    event: Any = None
    """``ctx.event`` in stored JSON form (Blobs as markers)."""
    request: Any = None
    """``ctx.request`` of an async route (stored JSON form)."""
    principal: Any = None
    """``ctx.principal`` of an async route's caller."""
    depth: int = 1
    """Trigger hops that led to this job (checked against PICLOUD_MAX_TRIGGER_DEPTH)."""
    causation_position: int | None = None
    correlation_id: str | None = None
    retry: RetryPolicy | None = None
    """The trigger's own policy; ``None`` uses PICLOUD_TRIGGER_RETRY_*."""
    dead_letter_id: str | None = None
    """For a ``dead_letter`` trigger's job: the dead letter it handles."""


_decoder = msgspec.json.Decoder(JobPayload)


def encode_payload(payload: JobPayload) -> str:
    """JSON text for the ``payload`` column."""
    return msgspec.json.encode(payload).decode()


def decode_payload(text: str | bytes) -> JobPayload:
    """A stored payload back as a :class:`JobPayload`."""
    return _decoder.decode(text)
