"""``picloud worker`` (Dramatiq job workers) and ``picloud scheduler`` (outbox relay + sweepers).

Both only need ``DATABASE_URL`` and ``REDIS_URL``: run as many workers as the
load needs, on as many machines as you like, and one or more schedulers (the
relay and the sweepers are safe to run several times). ``picloud dev`` starts
one of each next to the API.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from picloud.cli.server import DEV_PROCESSES
from picloud.errors import ConfigError
from picloud.settings import Settings, get_settings

__all__ = ["register", "run_scheduler", "run_worker"]

log = logging.getLogger("picloud.cli.worker")

# `picloud dev` runs a worker and a scheduler beside the API.
for _entry in (("worker", ["worker"]), ("scheduler", ["scheduler"])):
    if _entry not in DEV_PROCESSES:
        DEV_PROCESSES.append(_entry)


def register(subparsers: Any) -> None:
    """Add ``worker``, ``scheduler`` and ``workers status``."""
    p = subparsers.add_parser(
        "worker", help="run Dramatiq workers for trigger jobs and async routes"
    )
    p.add_argument(
        "--processes", "-p", type=int, help="worker processes (PICLOUD_WORKER_PROCESSES)"
    )
    p.add_argument("--threads", "-t", type=int, help="threads per process (PICLOUD_WORKER_THREADS)")
    p.add_argument("--queues", "-Q", nargs="*", help="only these queues (default: all)")
    p.set_defaults(handler=_worker_cmd)
    s = subparsers.add_parser(
        "scheduler", help="run the outbox relay and retention sweepers (safe to run several)"
    )
    s.add_argument("--poll", type=float, default=1.0, help="relay polling interval, seconds")
    s.set_defaults(handler=_scheduler_cmd)
    w = subparsers.add_parser("workers", help="inspect queues and workers")
    ws = w.add_subparsers(dest="workers_command", metavar="COMMAND")
    st = ws.add_parser("status", help="per queue: ready, delayed, in flight, dead; live workers")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(handler=_status_cmd)


def _need_urls(settings: Settings, what: str) -> None:
    if not settings.database_url or not settings.redis_url:
        raise ConfigError(
            f"picloud {what} needs DATABASE_URL and REDIS_URL",
            details={"variable": "DATABASE_URL" if not settings.database_url else "REDIS_URL"},
        )


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )


def run_worker(settings: Settings, threads: int, queues: list[str] | None = None) -> int:
    """Run one worker process until SIGTERM/SIGINT (blocks)."""
    from dramatiq import Worker

    from workers.actors import declare_actors
    from workers.broker import get_broker
    from workers.middleware import close_runtime, use_settings
    from workers.registry import WorkerRegistration

    use_settings(settings)
    broker = get_broker(settings)
    assert broker is not None
    declare_actors(broker)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker = Worker(
        broker, queues=set(queues) if queues else None, worker_threads=threads, worker_timeout=1000
    )
    worker.start()
    registration = WorkerRegistration(broker, settings, threads, sorted(queues or []))
    registration.start()
    log.info("worker %d: %d threads on %s", os.getpid(), threads, queues or "all queues")
    try:
        stop.wait()
    finally:
        registration.stop()
        worker.stop(timeout=max(1000, settings.script_timeout_ms + 5000))
        close_runtime()
        broker.close()
    return 0


def _worker_cmd(args: argparse.Namespace) -> int:
    settings = get_settings()
    _need_urls(settings, "worker")
    _setup_logging(settings)
    processes = args.processes or settings.worker_processes
    threads = args.threads or settings.worker_threads
    if processes <= 1:
        return run_worker(settings, threads, args.queues)
    # One child per process, each a single-process worker; a signal stops them all.
    argv = [
        sys.executable,
        "-m",
        "picloud",
        "worker",
        "--processes",
        "1",
        "--threads",
        str(threads),
    ]
    if args.queues:
        argv += ["--queues", *args.queues]
    children = [subprocess.Popen(argv) for _ in range(processes)]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            if all(c.poll() is not None for c in children):
                break
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=settings.script_timeout_ms / 1000 + 15)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


async def run_scheduler(settings: Settings, stop: asyncio.Event, poll: float = 1.0) -> None:
    """Relay the outbox and run the sweepers until ``stop`` is set."""
    from picloud.db import create_pool
    from picloud.outbox.relay import Relay
    from picloud.outbox.sender import send_keys
    from picloud.outbox.sweeper import Sweeper
    from workers.broker import get_broker

    broker = get_broker(settings)
    pool = await create_pool(settings, min_size=1, max_size=4)
    from workers.status import ready_count

    lease = settings.script_timeout_ms / 1000.0 + 5.0
    relay = Relay(
        pool,
        send_keys,
        redeliver_seconds=lease,
        poll_seconds=poll,
        dsn=settings.database_url,
        settings=settings,
        backlog=lambda: ready_count(broker),
    )
    sweeper = Sweeper(pool, settings)
    try:
        await asyncio.gather(relay.run(stop), sweeper.run(stop))
    finally:
        await pool.close()


def _scheduler_cmd(args: argparse.Namespace) -> int:
    settings = get_settings()
    _need_urls(settings, "scheduler")
    _setup_logging(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("scheduler %d: outbox relay and sweepers running", os.getpid())
        await run_scheduler(settings, stop, args.poll)

    asyncio.run(main())
    return 0


def _status_cmd(args: argparse.Namespace) -> int:
    import json

    from workers.status import queue_status

    settings = get_settings()
    _need_urls(settings, "workers status")
    status = asyncio.run(queue_status(settings))
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return 0
    for q in status["queues"]:
        print(
            f"queue {q['name']}: ready {q['ready']}, delayed {q['delayed']},"
            f" in flight {q['in_flight']}, dead-lettered {q['dead_lettered']}"
        )
    print(f"outbox backlog: {status['outbox_backlog']}")
    for w in status["workers"]:
        print(
            f"worker {w['host']} pid {w['pid']}: {w['threads']} threads,"
            f" last heartbeat {w['last_heartbeat']}"
        )
    if not status["workers"]:
        print("no live workers")
    return 0
