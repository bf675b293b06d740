"""Document events: every create, replace and delete in an app's document collections.

A document's events go in its stream ``doc-<id>``; the stream version is the
document's ``version``. ``data`` and ``prev_data`` hold the stored JSON form
(a Blob is its KV type marker), so a replay reproduces the table byte for byte
and a trigger handler sees exactly what changed.
"""

from __future__ import annotations

from typing import Any

from picloud.events.types import Event

__all__ = ["DocCreated", "DocDeleted", "DocUpdated", "doc_stream"]


def doc_stream(doc_id: str) -> str:
    """The stream holding one document's whole history."""
    return f"doc-{doc_id}"


class DocCreated(Event, frozen=True, tag="doc.created"):
    """A document was created at version 1 (``prev_data`` is implicitly none)."""

    app_id: str
    collection: str
    doc_id: str
    data: dict[str, Any]


class DocUpdated(Event, frozen=True, tag="doc.updated"):
    """A document's data was replaced; ``prev_data`` is what it held just before."""

    app_id: str
    collection: str
    doc_id: str
    data: dict[str, Any]
    prev_data: dict[str, Any]


class DocDeleted(Event, frozen=True, tag="doc.deleted"):
    """A document was deleted; ``prev_data`` is its last data."""

    app_id: str
    collection: str
    doc_id: str
    prev_data: dict[str, Any]
