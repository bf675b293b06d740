"""The HTTP layer: the Litestar app, its error handling and its controllers."""

from __future__ import annotations

from picloud.api.app import create_app

__all__ = ["create_app"]
