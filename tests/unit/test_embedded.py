"""The embedded PostgreSQL forgets handles of processes that died without cleaning up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from picloud.embedded import _forget_dead_handles


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_pids_of_dead_processes_are_dropped_and_live_ones_kept(tmp_path: Path) -> None:
    # Given a handle list naming a killed `picloud dev` and this live process
    handles = tmp_path / ".handle_pids.json"
    dead = _dead_pid()
    handles.write_text(json.dumps([dead, os.getpid()]), encoding="utf-8")
    # When the embedded server is about to start
    _forget_dead_handles(tmp_path)
    # Then only the live process is left, so the last one to exit stops PostgreSQL
    assert json.loads(handles.read_text(encoding="utf-8")) == [os.getpid()]


def test_a_missing_or_unreadable_list_is_left_alone(tmp_path: Path) -> None:
    # Given no list at all, nothing happens
    _forget_dead_handles(tmp_path)
    assert not (tmp_path / ".handle_pids.json").exists()
    # Given a list that is not JSON, it is not rewritten
    handles = tmp_path / ".handle_pids.json"
    handles.write_text("not json", encoding="utf-8")
    _forget_dead_handles(tmp_path)
    assert handles.read_text(encoding="utf-8") == "not json"
