"""``dead_letter`` triggers: run a handler when a job of the app becomes a dead letter.

The recursion stop (changelog v1.1.1): a dead-letter handler gets one attempt;
when it fails the dead letter is marked ``handler_failed`` and nothing more
happens — no retry, no new dead letter (``dead_letters = False``).
"""

from __future__ import annotations

from typing import Any

from picloud.events.triggers import DeadLettered
from picloud.events.types import RecordedEvent
from picloud.services.validation import is_uuid
from picloud.triggers.base import TriggerKind, bad_field, register_kind

__all__ = ["DeadLetterKind"]

_SOURCES = ("kv", "docs", "route", "*")


class DeadLetterKind(TriggerKind):
    """``ctx.event.dead_letter`` = ``#{id, trigger_id, source_event, error, attempts}``."""

    name = "dead_letter"
    source_types = frozenset({"dead_letter.created"})
    dead_letters = False

    def parse_config(self, body: dict[str, Any]) -> dict[str, Any]:
        """Optional ``trigger_id`` (only that trigger's dead letters) and ``source`` filter."""
        trigger_id = body.get("trigger_id")
        if trigger_id is not None and (not isinstance(trigger_id, str) or not is_uuid(trigger_id)):
            raise bad_field("trigger_id", "must be a trigger id (UUID) or absent")
        source = body.get("source", "*")
        if source not in _SOURCES:
            raise bad_field("source", f"must be one of {', '.join(_SOURCES)}")
        return {"trigger_id": trigger_id, "source": source}

    def matches(self, config: dict[str, Any], event: RecordedEvent) -> bool:
        """Any dead letter, or only those of one trigger / one source."""
        data = event.event
        if not isinstance(data, DeadLettered):
            return False
        if config.get("trigger_id") and config["trigger_id"] != data.trigger_id:
            return False
        source = config.get("source", "*")
        if source == "*":
            return True
        seen = data.source_event.get("source") if isinstance(data.source_event, dict) else None
        return bool(source == (seen or data.job_kind))

    def op(self, event: RecordedEvent) -> str:
        """Always ``created``."""
        return "created"

    def detail(self, event: RecordedEvent) -> dict[str, Any]:
        """The dead letter: its id, trigger, the event its job saw, last error, attempt count."""
        data = event.event
        assert isinstance(data, DeadLettered)
        return {
            "id": data.dead_letter_id,
            "trigger_id": data.trigger_id,
            "source_event": data.source_event,
            "error": data.error,
            "attempts": len(data.attempts),
        }


register_kind(DeadLetterKind())
