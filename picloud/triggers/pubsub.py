"""``pubsub`` triggers: run a handler on every durable publish to matching topics.

Patterns are an exact topic, ``<prefix>.*`` (every topic below ``<prefix>.``)
or ``*`` (every topic of the app). A ``*`` anywhere else is refused at
creation, so matching stays a string comparison and never a glob engine.
"""

from __future__ import annotations

import re
from typing import Any

from picloud.events.pubsub import PubsubPublished
from picloud.events.types import RecordedEvent
from picloud.triggers.base import TriggerKind, bad_field, register_kind

__all__ = ["PubsubKind", "pattern_matches"]

# A topic name (the rule of picloud/services/pubsub.py) optionally followed by ".*".
_PATTERN = re.compile(r"^(\*|[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}(\.\*)?)$")


def pattern_matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` falls under ``pattern`` (exact, ``prefix.*`` or ``*``)."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return topic.startswith(pattern[:-1]) and len(topic) > len(pattern) - 1
    return pattern == topic


class PubsubKind(TriggerKind):
    """``ctx.event.pubsub`` = ``#{topic, message, published_at}``."""

    name = "pubsub"
    source_types = frozenset({"pubsub.published"})

    def parse_config(self, body: dict[str, Any]) -> dict[str, Any]:
        """``pattern``: an exact topic, ``<prefix>.*`` or ``*``; other wildcards are refused."""
        pattern = body.get("pattern")
        if not isinstance(pattern, str) or not _PATTERN.match(pattern):
            raise bad_field(
                "pattern",
                "must be a topic name, '<prefix>.*' or '*' (a wildcard is allowed only as the"
                " whole pattern or after the last '.')",
            )
        return {"pattern": pattern}

    def matches(self, config: dict[str, Any], event: RecordedEvent) -> bool:
        """The publish's topic falls under the trigger's pattern."""
        data = event.event
        return isinstance(data, PubsubPublished) and pattern_matches(config["pattern"], data.topic)

    def op(self, event: RecordedEvent) -> str:
        """Always ``publish``."""
        return "publish"

    def detail(self, event: RecordedEvent) -> dict[str, Any]:
        """The topic, the message (stored JSON form) and when it was published."""
        data = event.event
        assert isinstance(data, PubsubPublished)
        return {"topic": data.topic, "message": data.message, "published_at": data.published_at}


register_kind(PubsubKind())
