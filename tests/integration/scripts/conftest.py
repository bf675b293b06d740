"""Fixtures for the scripts/routes API tests: the API fixtures plus an admin ``api`` helper."""

from __future__ import annotations

from typing import Any

import pytest
from _scripts_api import Client, ScriptsApi, api_fixtures

# Re-exported: pytest finds fixtures by name in this module.
api_settings = api_fixtures.api_settings
app = api_fixtures.app
client = api_fixtures.client
admin_headers = api_fixtures.admin_headers
seed = api_fixtures.seed


@pytest.fixture
async def api(client: Client, admin_headers: dict[str, str]) -> ScriptsApi:
    """The scripts/routes endpoints as the bootstrap instance admin."""
    return ScriptsApi(client, admin_headers)


@pytest.fixture
async def shop(seed: Any) -> Any:
    """An app called ``shop``."""
    return await seed.app("shop")
