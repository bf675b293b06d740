"""Read models kept from the event log (protocol, registry, rebuild)."""

from __future__ import annotations

import importlib
import pkgutil

from picloud.projections.base import (
    BaseProjection,
    Projection,
    all_projections,
    projections_for,
    quote_ident,
    register_projection,
    registered_projection,
    table_ref,
    unregister_projection,
)

__all__ = [
    "BaseProjection",
    "Projection",
    "all_projections",
    "load_all",
    "projections_for",
    "quote_ident",
    "register_projection",
    "registered_projection",
    "table_ref",
    "unregister_projection",
]


#: Modules of these packages that are machinery, not event types or projections.
_NOT_PLUGINS = frozenset({"base", "rebuild", "store", "types", "codec"})


def load_all() -> list[str]:
    """Import every module of ``picloud.events`` and ``picloud.projections``.

    Importing registers their event types and projections, so a command that
    replays or lists the log (rebuild, ``events list``) sees all of them,
    including ones added after this function was written.
    """
    import picloud.events
    import picloud.projections

    loaded = []
    for package in (picloud.events, picloud.projections):
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_") or info.name in _NOT_PLUGINS:
                continue
            name = f"{package.__name__}.{info.name}"
            importlib.import_module(name)
            loaded.append(name)
    return loaded
