"""Who runs a command and why: turned into the metadata of every event it appends."""

from __future__ import annotations

from dataclasses import dataclass

from picloud.events.types import EventMeta

__all__ = ["BOOTSTRAP_ACTOR", "CLI_ACTOR", "CommandContext"]

#: The event log knows users, keys, scripts, triggers, cron and "system";
#: the CLI and start-up bootstrap act as "system", told apart by request id.
CLI_ACTOR = "system"
BOOTSTRAP_ACTOR = "system"


@dataclass(frozen=True, slots=True)
class CommandContext:
    """The actor (``user:<id>``, ``key:<id>``, ``system``) and request id of a command."""

    actor: str
    request_id: str | None = None

    def meta(self) -> EventMeta:
        """Event metadata for an event appended by this command."""
        # A command starts a causal chain: its request id doubles as the
        # correlation id that triggered work downstream will carry on.
        return EventMeta(
            actor=self.actor, request_id=self.request_id, correlation_id=self.request_id
        )
