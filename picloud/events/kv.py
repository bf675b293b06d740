"""KV events: every write to an app's key-value store, with the value it replaced.

Each key has its own stream, ``kv-<app id>-<collection>:<key>`` (see
:func:`kv_stream`): the app id has a fixed length and a collection name never
holds ``:``, so the name is unambiguous and readable in the audit log. Values
are in their stored JSON form (:mod:`picloud.sdk._values`: a Blob is an object
``{"$kv": "blob", "base64": …}``), exactly what the ``kv_entries`` projection
holds, so a replay reproduces the table byte for byte.
"""

from __future__ import annotations

from typing import Any

from picloud.events.types import Event

__all__ = ["KvDeleted", "KvSet", "kv_stream"]


def kv_stream(app_id: str, collection: str, key: str) -> str:
    """The stream holding one key's writes and deletions."""
    return f"kv-{app_id}-{collection}:{key}"


class KvSet(Event, frozen=True, tag="kv.set"):
    """A key was set; ``prev_value`` is the value it replaced (``None`` when ``created``)."""

    app_id: str
    collection: str
    key: str
    value: Any
    prev_value: Any = None
    created: bool = False
    """True when the key did not exist before (so a stored JSON null is told apart)."""


class KvDeleted(Event, frozen=True, tag="kv.deleted"):
    """A present key was deleted; ``prev_value`` is the value it held."""

    app_id: str
    collection: str
    key: str
    prev_value: Any = None
