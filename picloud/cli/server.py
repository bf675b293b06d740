"""``picloud serve`` (the API under uvicorn or granian) and ``picloud dev`` (everything, locally)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
from typing import Any

from picloud.errors import ConfigError
from picloud.settings import Settings, get_settings

__all__ = ["DEV_PROCESSES", "SERVERS", "register", "run_server", "serve"]

log = logging.getLogger("picloud.cli.server")

SERVERS = ("uvicorn", "granian")

#: Seconds a stopping server waits for open requests. SSE streams never end on
#: their own, so without a bound one open browser tab would block shutdown;
#: clients resume from their Last-Event-ID after the cut.
SHUTDOWN_GRACE_SEC = 5

#: Extra commands ``picloud dev`` runs beside the API, each as ``picloud <argv…>``
#: in its own process sharing the dev settings. The worker and scheduler issues
#: add theirs here: ``DEV_PROCESSES.append(("worker", ["worker"]))``.
DEV_PROCESSES: list[tuple[str, list[str]]] = []


def register(subparsers: Any) -> None:
    """Add ``serve`` and ``dev``."""
    for name, handler, text in (
        ("serve", _serve_cmd, "run the API server (uses DATABASE_URL and REDIS_URL)"),
        ("dev", _dev_cmd, "migrate and run everything locally (embedded Postgres/Redis if unset)"),
    ):
        p = subparsers.add_parser(name, help=text, description=text)
        p.add_argument("--host", help="interface to bind (PICLOUD_HOST)")
        p.add_argument("--port", type=int, help="port to bind (PICLOUD_PORT)")
        p.add_argument("--server", choices=SERVERS, help="ASGI server (PICLOUD_SERVER)")
        p.add_argument("--workers", type=int, help="server processes (PICLOUD_WEB_WORKERS)")
        p.set_defaults(handler=handler)


def _with_overrides(settings: Settings, args: argparse.Namespace) -> Settings:
    changes = {
        field: value
        for field, value in (
            ("host", args.host),
            ("port", args.port),
            ("server", args.server),
            ("web_workers", args.workers),
        )
        if value is not None
    }
    return settings.replace(**changes) if changes else settings


def _export(settings: Settings) -> None:
    # Server workers and dev side processes are separate processes that build
    # their own Settings from the environment: hand them the resolved URLs.
    if settings.database_url:
        os.environ["DATABASE_URL"] = settings.database_url
    if settings.redis_url:
        os.environ["REDIS_URL"] = settings.redis_url
    get_settings.cache_clear()


def _migrate(settings: Settings) -> None:
    from picloud.migrations import migrate

    applied = asyncio.run(migrate(settings.database_url or ""))
    for name in applied:
        log.info("applied migration %s", name)


def run_server(settings: Settings) -> None:
    """Run the API with ``settings.server`` until interrupted (blocks)."""
    from picloud.api.asgi import TARGET

    _export(settings)
    if settings.server == "uvicorn":
        import uvicorn

        uvicorn.run(
            TARGET,
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.web_workers,
            log_level=settings.log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SEC,
        )
        return
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        target=TARGET,
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.web_workers,
        log_access=False,
        workers_kill_timeout=SHUTDOWN_GRACE_SEC,
    ).serve()


def serve(settings: Settings) -> int:
    """Migrate, then serve; both URLs must be set (``picloud dev`` starts embedded ones)."""
    if settings.database_url is None or settings.redis_url is None:
        raise ConfigError(
            "picloud serve needs DATABASE_URL and REDIS_URL; use `picloud dev` for the embedded"
            " PostgreSQL and Redis",
            details={"variable": "DATABASE_URL" if settings.database_url is None else "REDIS_URL"},
        )
    _migrate(settings)
    log.info("serving on http://%s:%s with %s", settings.host, settings.port, settings.server)
    run_server(settings)
    return 0


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    # pgserver narrates every pg_ctl call at INFO; its warnings are enough.
    logging.getLogger("pgserver").setLevel(logging.WARNING)


def _serve_cmd(args: argparse.Namespace) -> int:
    settings = _with_overrides(get_settings(), args)
    _setup_logging(settings)
    return serve(settings)


def _dev_cmd(args: argparse.Namespace) -> int:
    from picloud.embedded import embedded_settings

    settings = _with_overrides(get_settings(), args)
    _setup_logging(settings)
    settings, services = embedded_settings(settings)
    children: list[subprocess.Popen[bytes]] = []
    try:
        _migrate(settings)
        _export(settings)
        for name, argv in DEV_PROCESSES:
            log.info("dev: starting %s", name)
            children.append(subprocess.Popen([sys.executable, "-m", "picloud", *argv]))
        log.info("dev: API on http://%s:%s (%s)", settings.host, settings.port, settings.server)
        run_server(settings)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if services is not None:
            services.stop()
    return 0
