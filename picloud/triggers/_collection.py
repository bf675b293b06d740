"""Shared fields of collection-based kinds (kv, docs, files): ``collection`` + ``ops``."""

from __future__ import annotations

import re
from typing import Any

from picloud.triggers.base import bad_field

__all__ = ["parse_collection_ops"]

# The KV/docs collection-name rule, plus "*" for every collection of the app.
_COLLECTION = re.compile(r"^(\*|[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63})$")


def parse_collection_ops(body: dict[str, Any], ops: tuple[str, ...]) -> dict[str, Any]:
    """``{collection, ops}`` checked; ``ops`` defaults to every op, sorted and deduplicated."""
    collection = body.get("collection")
    if not isinstance(collection, str) or not _COLLECTION.match(collection):
        raise bad_field(
            "collection", "must be a collection name (1-64 letters, digits, '_', '-', '.') or '*'"
        )
    given = body.get("ops", list(ops))
    if not isinstance(given, list) or not given or not all(isinstance(o, str) for o in given):
        raise bad_field("ops", f"must be a non-empty list drawn from {', '.join(ops)}")
    unknown = sorted(set(given) - set(ops))
    if unknown:
        raise bad_field("ops", f"unknown op {unknown[0]!r}; use {', '.join(ops)}")
    return {"collection": collection, "ops": sorted(set(given))}
