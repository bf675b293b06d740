"""``kv`` triggers: run a handler when a key of a collection is set or deleted."""

from __future__ import annotations

from typing import Any

from picloud.events.kv import KvDeleted, KvSet
from picloud.events.types import RecordedEvent
from picloud.triggers._collection import parse_collection_ops
from picloud.triggers.base import TriggerKind, register_kind

__all__ = ["OPS", "KvKind"]

OPS = ("set", "delete")


class KvKind(TriggerKind):
    """``ctx.event.kv`` = ``#{collection, key, value, prev_value}``."""

    name = "kv"
    source_types = frozenset({"kv.set", "kv.deleted"})

    def parse_config(self, body: dict[str, Any]) -> dict[str, Any]:
        """``collection`` (or ``*``) and ``ops`` ⊆ {set, delete}."""
        return parse_collection_ops(body, OPS)

    def matches(self, config: dict[str, Any], event: RecordedEvent) -> bool:
        """Same collection (or ``*``) and an op the trigger listens to."""
        data = event.event
        if not isinstance(data, KvSet | KvDeleted):
            return False
        return config["collection"] in ("*", data.collection) and self.op(event) in config["ops"]

    def op(self, event: RecordedEvent) -> str:
        """``set`` or ``delete``."""
        return "set" if isinstance(event.event, KvSet) else "delete"

    def detail(self, event: RecordedEvent) -> dict[str, Any]:
        """The key, its new value (``()`` after a delete) and the value it replaced."""
        data = event.event
        assert isinstance(data, KvSet | KvDeleted)
        value = data.value if isinstance(data, KvSet) else None
        return {
            "collection": data.collection,
            "key": data.key,
            "value": value,
            "prev_value": data.prev_value,
        }


register_kind(KvKind())
