"""Real processes for the crash tests: a private redis-server, workers and schedulers.

Each test gets a redis-server of its own on a free port (no persistence, so a
restart really loses everything), and ``picloud worker`` / ``picloud
scheduler`` processes pointed at it and at the test's database. Every process
is stopped (SIGTERM, then SIGKILL) when the test ends, pass or fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis

__all__ = ["Procs", "free_port"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Procs:
    """Starts and always stops this test's processes."""

    def __init__(self, tmp: Path, settings: Any) -> None:
        self.tmp = tmp
        self.settings = settings
        self.port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.port}/0"
        self.redis: subprocess.Popen[bytes] | None = None
        self.children: list[subprocess.Popen[bytes]] = []

    def start_redis(self) -> None:
        """Start (or restart) the private redis-server, empty, and wait until it answers."""
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed")
        self.redis = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.redis_url, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def kill_redis(self) -> None:
        """SIGKILL the redis-server: everything it held is gone."""
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait(10)
            self.redis = None

    def env(self) -> dict[str, str]:
        s = self.settings
        env = dict(os.environ)
        env.update(
            DATABASE_URL=s.database_url,
            REDIS_URL=self.redis_url,
            PICLOUD_REDIS_NAMESPACE=s.redis_namespace,
            PICLOUD_SCRIPT_TIMEOUT_MS=str(s.script_timeout_ms),
            PICLOUD_TRIGGER_RETRY_MAX_ATTEMPTS=str(s.trigger_retry_max_attempts),
            PICLOUD_TRIGGER_RETRY_MIN_BACKOFF_MS=str(s.trigger_retry_min_backoff_ms),
            PICLOUD_TRIGGER_RETRY_MAX_BACKOFF_MS=str(s.trigger_retry_max_backoff_ms),
            PICLOUD_DATA_DIR=str(self.tmp / ".picloud"),
            PICLOUD_LOG_LEVEL="info",
        )
        return env

    def spawn(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        """Start ``picloud <argv…>``; output goes to ``<tmp>/<name>.log``."""
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        child = subprocess.Popen(
            [sys.executable, "-m", "picloud", *argv],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(Path(__file__).resolve().parents[3]),
        )
        log.close()
        self.children.append(child)
        return child

    def worker(self, name: str = "worker", threads: int = 2) -> subprocess.Popen[bytes]:
        """A one-process ``picloud worker``."""
        return self.spawn(name, "worker", "--processes", "1", "--threads", str(threads))

    def scheduler(self, name: str = "scheduler") -> subprocess.Popen[bytes]:
        """A ``picloud scheduler`` polling every 0.2 s."""
        return self.spawn(name, "scheduler", "--poll", "0.2")

    def logs(self) -> str:
        """Every process log, for a failing assertion's message."""
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.tmp.glob("*.log"))
        )

    def stop(self) -> None:
        """Stop every child (SIGTERM, then SIGKILL) and the redis-server."""
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=5)
        self.kill_redis()
