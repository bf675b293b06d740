"""HTTP controllers, one module per resource."""

from __future__ import annotations
