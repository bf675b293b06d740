"""Identity and access: passwords, tokens, scopes, capabilities and the principal."""

from __future__ import annotations
