"""Read models kept from the event log (protocol, registry, rebuild)."""

from __future__ import annotations

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
    "projections_for",
    "quote_ident",
    "register_projection",
    "registered_projection",
    "table_ref",
    "unregister_projection",
]
