"""Assembles the standard packages into one library."""

from __future__ import annotations

from picloud.rhai.builtins.registry import Library

__all__ = ["register"]


def register(lib: Library) -> None:
    """Register every standard package function into ``lib``."""
    import importlib

    for mod in ("misc", "numbers", "strings", "arrays", "maps", "blobs", "iteration", "timestamps"):
        try:
            m = importlib.import_module(f"picloud.rhai.builtins.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"picloud.rhai.builtins.{mod}":
                raise
            continue
        m.register(lib)
