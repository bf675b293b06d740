"""PiCloud: a self-hosted, event-sourced backend platform scripted in Rhai."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
