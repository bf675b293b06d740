"""Integration tests: everything under tests/integration/ runs against real services.

The service, database and Redis fixtures live in ``tests/conftest.py`` so
tests elsewhere can use them too; this file only marks the directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test collected from this directory ``integration``."""
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
