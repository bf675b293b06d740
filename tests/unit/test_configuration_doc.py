"""docs/configuration.md is exactly what scripts/config_doc.py renders from Settings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_doc_lists_every_setting_as_the_code_declares_it() -> None:
    # Given the generator that renders the page from Settings' fields and docstrings
    spec = importlib.util.spec_from_file_location("config_doc", ROOT / "scripts" / "config_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Then the committed page is its output (rerun the script after adding a setting)
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == module.render()
    assert "`DATABASE_URL`" in committed and "`PICLOUD_SCRIPT_TIMEOUT_MS`" in committed
