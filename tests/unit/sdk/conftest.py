"""Fixtures for the standard-library tests: a real Engine with ``install_stdlib``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from picloud.rhai import Engine
from picloud.sdk import ScriptLogs, install_stdlib


@pytest.fixture(scope="module")
def engine() -> Engine:
    """One engine with the standard library, shared by a test module (runs share no state)."""
    e = Engine()
    install_stdlib(e, log_sink=ScriptLogs())
    return e


@pytest.fixture(scope="module")
def caught(engine: Engine) -> Callable[[str], Any]:
    """Run ``expr`` inside ``try``/``catch`` in a script; return what the handler received."""

    def run(expr: str) -> Any:
        return engine.eval(f'let r = "<no error>"; try {{ {expr}; }} catch (e) {{ r = e; }} r')

    return run
