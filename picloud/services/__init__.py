"""Command and query functions: validate input, append events, return read models."""

from __future__ import annotations
