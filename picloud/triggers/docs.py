"""``docs`` triggers: run a handler when a document is created, updated or deleted."""

from __future__ import annotations

from typing import Any

from picloud.events.docs import DocCreated, DocDeleted, DocUpdated
from picloud.events.types import RecordedEvent
from picloud.triggers._collection import parse_collection_ops
from picloud.triggers.base import TriggerKind, register_kind

__all__ = ["OPS", "DocsKind"]

OPS = ("create", "update", "delete")
_OP = {DocCreated: "create", DocUpdated: "update", DocDeleted: "delete"}


class DocsKind(TriggerKind):
    """``ctx.event.docs`` = ``#{collection, id, data, prev_data}``."""

    name = "docs"
    source_types = frozenset({"doc.created", "doc.updated", "doc.deleted"})

    def parse_config(self, body: dict[str, Any]) -> dict[str, Any]:
        """``collection`` (or ``*``) and ``ops`` ⊆ {create, update, delete}."""
        return parse_collection_ops(body, OPS)

    def matches(self, config: dict[str, Any], event: RecordedEvent) -> bool:
        """Same collection (or ``*``) and an op the trigger listens to."""
        data = event.event
        if not isinstance(data, DocCreated | DocUpdated | DocDeleted):
            return False
        return config["collection"] in ("*", data.collection) and self.op(event) in config["ops"]

    def op(self, event: RecordedEvent) -> str:
        """``create``, ``update`` or ``delete``."""
        return _OP[type(event.event)]

    def detail(self, event: RecordedEvent) -> dict[str, Any]:
        """The document id, its data (``()`` after a delete) and its data before."""
        data: Any = event.event
        return {
            "collection": data.collection,
            "id": data.doc_id,
            "data": None if isinstance(data, DocDeleted) else data.data,
            "prev_data": None if isinstance(data, DocCreated) else data.prev_data,
        }


register_kind(DocsKind())
