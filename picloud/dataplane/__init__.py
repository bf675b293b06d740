"""The data plane: apps answer HTTP with their endpoint scripts (API.md, Data plane)."""

from __future__ import annotations

from typing import Any

from picloud.dataplane.handler import DataPlane

__all__ = ["DataPlane", "install_data_plane"]


def install_data_plane(app: Any) -> DataPlane:
    """Put the data plane in front of ``app``'s routes (Host- and ``/a/{slug}``-matched requests)."""
    plane = DataPlane(app, app.asgi_handler, app.state.settings)
    app.asgi_handler = plane
    app.on_shutdown.append(plane.aclose)
    app.state.dataplane = plane
    return plane
