"""Live worker registry: each worker process announces host, pid, threads and a heartbeat.

Dramatiq's own heartbeats (a sorted set of broker ids) say nothing about
where a worker runs, so each process also keeps a small Redis hash
``<namespace>:workers:<broker id>`` refreshed every few seconds with a TTL: a
worker that dies disappears from ``picloud workers status`` on its own.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

__all__ = ["HEARTBEAT_SECONDS", "WorkerRegistration", "worker_key_prefix"]

log = logging.getLogger("picloud.worker")

#: How often a worker refreshes its entry; the entry lives three times as long.
HEARTBEAT_SECONDS = 5.0


def worker_key_prefix(settings: Any) -> str:
    """The prefix of every worker entry."""
    return str(settings.redis_key("workers")) + ":"


class WorkerRegistration:
    """Keeps this process's worker entry fresh on a daemon thread."""

    def __init__(self, broker: Any, settings: Any, threads: int, queues: list[str]) -> None:
        self.client = broker.client
        self.key = worker_key_prefix(settings) + broker.broker_id
        self.fields = {
            "host": socket.gethostname(),
            "pid": str(os.getpid()),
            "threads": str(threads),
            "queues": ",".join(queues) or "*",
            "started_at": str(time.time()),
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="picloud-worker-beat", daemon=True)

    def start(self) -> None:
        """Announce now, then keep announcing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop announcing and remove the entry."""
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.client.delete(self.key)
        except Exception:  # noqa: BLE001 - its TTL removes it anyway
            log.debug("could not remove worker entry %s", self.key)

    def _beat(self) -> None:
        while not self._stop.is_set():
            try:
                pipe = self.client.pipeline(transaction=False)
                pipe.hset(self.key, mapping={**self.fields, "heartbeat": str(time.time())})
                pipe.expire(self.key, int(HEARTBEAT_SECONDS * 3))
                pipe.execute()
            except Exception:
                log.debug("worker heartbeat failed", exc_info=True)
            self._stop.wait(HEARTBEAT_SECONDS)
