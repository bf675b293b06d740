"""Every vector of the Rhai conformance corpus, against the known-failures list.

A vector that fails must be listed with its reason in ``conformance_failures.md``;
a listed vector that now passes fails too, so the list stays honest.
Run ``python tests/rhai/test_conformance.py`` for a report of the failures.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest


def _harness() -> Any:
    """Load this directory's conftest by path (several test dirs have a conftest module)."""
    import importlib.util

    name = "_rhai_conftest"
    mod = sys.modules.get(name)
    if mod is None:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("conftest.py"))
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return mod


load_corpus = _harness().load_corpus
run_vector = _harness().run_vector

FAILURES_FILE = Path(__file__).with_name("conformance_failures.md")
_LINE = re.compile(r"^- `([^`]+)`\s*[—-]+\s*(.+)$")


def known_failures() -> dict[str, str]:
    """``id -> reason`` from the failures file."""
    out: dict[str, str] = {}
    if FAILURES_FILE.exists():
        for line in FAILURES_FILE.read_text(encoding="utf-8").splitlines():
            m = _LINE.match(line.strip())
            if m:
                out[m.group(1)] = m.group(2)
    return out


@lru_cache(maxsize=1)
def results() -> tuple[tuple[str, str | None], ...]:
    """``(id, failure reason or None)`` for every vector (run once per session)."""
    out = []
    for vec in load_corpus():
        try:
            reason = run_vector(vec)
        except Exception as e:  # noqa: BLE001 - a Python error is itself a failure to report
            reason = f"Python {type(e).__name__}: {e}"
        out.append((vec["id"], reason))
    return tuple(out)


def test_every_failing_vector_is_listed_with_a_reason(request: pytest.FixtureRequest) -> None:
    # Given the corpus and the list of known failures
    res = results()
    known = known_failures()
    passed = sum(1 for _, r in res if r is None)
    total = len(res)
    figure = f"Rhai conformance: {passed}/{total} vectors pass ({100.0 * passed / total:.1f}%)"
    print("\n" + figure)
    request.config._rhai_conformance = figure  # type: ignore[attr-defined]  # shown in the summary
    # Then every failing vector is listed, and every listed vector still fails
    unlisted = [f"{vid}: {r}" for vid, r in res if r is not None and vid not in known]
    fixed = [vid for vid, r in res if r is None and vid in known]
    assert not unlisted, "failing vectors missing from conformance_failures.md:\n" + "\n".join(
        unlisted
    )
    assert not fixed, "listed vectors that now pass (remove them):\n" + "\n".join(fixed)


def test_conformance_meets_the_target() -> None:
    # Given the corpus results, then at least 97% of the vectors pass
    res = results()
    passed = sum(1 for _, r in res if r is None)
    assert passed / len(res) >= 0.97, f"{passed}/{len(res)} is below the 97% target"


def test_listed_failures_name_real_vectors() -> None:
    # Given the failures list, then every id in it exists in the corpus
    ids = {vid for vid, _ in results()}
    stale = sorted(set(known_failures()) - ids)
    assert not stale, f"unknown ids in conformance_failures.md: {stale}"


def main(argv: list[str]) -> int:
    """Print failing vectors (optionally only ids matching a substring)."""
    pat = argv[1] if len(argv) > 1 else ""
    res = results()
    known = known_failures()
    fails = [(vid, r) for vid, r in res if r is not None and pat in vid]
    for vid, r in fails:
        mark = "listed" if vid in known else "NEW"
        print(f"{mark:6} {vid}: {r}")
    passed = sum(1 for _, r in res if r is None)
    print(f"{passed}/{len(res)} pass")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except pytest.skip.Exception as e:
        print(e)
        sys.exit(2)


_: Any = None
