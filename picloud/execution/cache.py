"""Per-process LRU caches of compiled scripts and modules, keyed by (id, version).

Every request reads the current version of the scripts it needs from
Postgres (one small query), and a cache entry serves only that exact
version: an updated script or module misses on the next request in every
process, with no invalidation messages to lose. An entry is stored under
its id holding its version, so a newer version replaces the old one instead
of sitting next to it until evicted.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from picloud.rhai import AST

__all__ = ["CompiledModule", "CompiledScript", "LruCache"]

V = TypeVar("V")


class LruCache(Generic[V]):
    """A thread-safe LRU of ``id → (version, value)``; ``maxsize`` 0 disables it."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[str, tuple[int, V]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str, version: int) -> V | None:
        """The value cached for exactly ``(key, version)``, or None."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry[0] != version:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: str, version: int, value: V) -> None:
        """Cache ``value`` as ``(key, version)``; an older version of ``key`` is dropped."""
        if self.maxsize <= 0:
            return
        with self._lock:
            old = self._data.get(key)
            # A slow loader must not overwrite a newer version another thread stored.
            if old is not None and old[0] > version:
                return
            self._data[key] = (version, value)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def version_of(self, key: str) -> int | None:
        """The version cached for ``key`` (no recency change), or None."""
        entry = self._data.get(key)
        return None if entry is None else entry[0]

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()


@dataclass(frozen=True, slots=True)
class CompiledScript:
    """An endpoint script parsed once and shared by every run of that version."""

    id: str
    app_id: str
    name: str
    version: int
    ast: AST


@dataclass(frozen=True, slots=True)
class CompiledModule:
    """A module script parsed (and shape-checked) once."""

    id: str
    app_id: str
    name: str
    version: int
    ast: AST
