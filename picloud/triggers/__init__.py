"""Trigger kinds (kv, docs, dead_letter, …) on one framework; see :mod:`picloud.triggers.base`."""

from __future__ import annotations

from picloud.triggers.base import TriggerKind, all_kinds, get_kind, kinds_for, register_kind

__all__ = ["TriggerKind", "all_kinds", "get_kind", "kinds_for", "register_kind"]
