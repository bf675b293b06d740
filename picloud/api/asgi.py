"""Import targets for ASGI servers: ``picloud.api.asgi:app_from_env`` (a factory).

Server worker processes import this and build the app from the environment,
so ``picloud serve`` with several workers needs no pickling of settings.
"""

from __future__ import annotations

from litestar import Litestar

from picloud.api.app import create_app
from picloud.settings import get_settings

__all__ = ["TARGET", "app_from_env"]

#: The factory's import string, as uvicorn and granian take it.
TARGET = "picloud.api.asgi:app_from_env"


def app_from_env() -> Litestar:
    """The API app for the settings in this process's environment."""
    return create_app(get_settings())
