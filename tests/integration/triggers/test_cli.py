"""``picloud workers status`` sees live workers; ``picloud dev`` also starts worker and scheduler."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from picloud.cli import build_parser
from picloud.cli.server import DEV_PROCESSES
from picloud.settings import Settings
from tests.integration.triggers.procs import Procs


@pytest.fixture
def procs(settings: Settings, tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path, settings)
    p.start_redis()
    try:
        yield p
    finally:
        p.stop()


def _status(procs: Procs) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "picloud", "workers", "status", "--json"],
        env=procs.env(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(out.stdout))


def test_workers_status_lists_a_live_worker_and_the_queue(procs: Procs) -> None:
    worker = procs.worker(threads=3)
    deadline = time.monotonic() + 30
    while True:
        status = _status(procs)
        if status["workers"]:
            break
        assert time.monotonic() < deadline, procs.logs()
        time.sleep(0.5)
    (entry,) = status["workers"]  # type: ignore[misc]
    assert entry["pid"] == worker.pid and entry["threads"] == 3
    (queue,) = status["queues"]  # type: ignore[misc]
    assert queue["name"] == "picloud" and queue["ready"] == 0
    assert status["outbox_backlog"] == 0


def test_dev_runs_worker_and_scheduler_beside_the_api() -> None:
    build_parser()  # imports every command module, as `picloud` does
    assert ("worker", ["worker"]) in DEV_PROCESSES
    assert ("scheduler", ["scheduler"]) in DEV_PROCESSES
