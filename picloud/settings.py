"""The one settings object, read once from the environment.

Every tunable lives here as a field of the frozen :class:`Settings` struct,
bound to exactly one environment variable (``DATABASE_URL``, ``REDIS_URL`` or
``PICLOUD_*``; the names and defaults follow the PiCloud changelog wherever it
names one). :meth:`Settings.from_env` parses and checks everything up front and
raises :class:`~picloud.errors.ConfigError` naming the variable at fault, so a
bad value stops the process at start-up instead of surfacing mid-request.

Nothing else in the code base reads ``os.environ``: the API app, workers and
scheduler receive a ``Settings`` (or call :func:`get_settings`).
"""

from __future__ import annotations

import functools
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from picloud.errors import ConfigError

__all__ = ["ENV_VARS", "Settings", "get_settings"]

MiB = 1024 * 1024

#: Field name → environment variable. Every field of ``Settings`` appears here.
ENV_VARS: dict[str, str] = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "redis_namespace": "PICLOUD_REDIS_NAMESPACE",
    "data_dir": "PICLOUD_DATA_DIR",
    "host": "PICLOUD_HOST",
    "port": "PICLOUD_PORT",
    "base_domain": "PICLOUD_BASE_DOMAIN",
    "server": "PICLOUD_SERVER",
    "web_workers": "PICLOUD_WEB_WORKERS",
    "worker_processes": "PICLOUD_WORKER_PROCESSES",
    "worker_threads": "PICLOUD_WORKER_THREADS",
    "log_level": "PICLOUD_LOG_LEVEL",
    "db_pool_min_size": "PICLOUD_DB_POOL_MIN_SIZE",
    "db_pool_max_size": "PICLOUD_DB_POOL_MAX_SIZE",
    "db_idle_in_transaction_timeout_ms": "PICLOUD_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
    "db_statement_timeout_ms": "PICLOUD_DB_STATEMENT_TIMEOUT_MS",
    "max_request_body_bytes": "PICLOUD_MAX_REQUEST_BODY_BYTES",
    "session_ttl_seconds": "PICLOUD_SESSION_TTL_SEC",
    "bootstrap_admin_email": "PICLOUD_BOOTSTRAP_ADMIN_EMAIL",
    "bootstrap_admin_password": "PICLOUD_BOOTSTRAP_ADMIN_PASSWORD",
    "script_cache_size": "PICLOUD_SCRIPT_CACHE_SIZE",
    "module_cache_size": "PICLOUD_MODULE_CACHE_SIZE",
    "module_import_depth_max": "PICLOUD_MODULE_IMPORT_DEPTH_MAX",
    "script_timeout_ms": "PICLOUD_SCRIPT_TIMEOUT_MS",
    "script_max_operations": "PICLOUD_SCRIPT_MAX_OPERATIONS",
    "script_max_call_levels": "PICLOUD_SCRIPT_MAX_CALL_LEVELS",
    "script_max_string_size": "PICLOUD_SCRIPT_MAX_STRING_SIZE",
    "script_max_array_size": "PICLOUD_SCRIPT_MAX_ARRAY_SIZE",
    "script_max_map_size": "PICLOUD_SCRIPT_MAX_MAP_SIZE",
    "script_pool_size": "PICLOUD_SCRIPT_POOL_SIZE",
    "script_runner": "PICLOUD_SCRIPT_RUNNER",
    "max_trigger_depth": "PICLOUD_MAX_TRIGGER_DEPTH",
    "trigger_retry_max_attempts": "PICLOUD_TRIGGER_RETRY_MAX_ATTEMPTS",
    "trigger_retry_min_backoff_ms": "PICLOUD_TRIGGER_RETRY_MIN_BACKOFF_MS",
    "trigger_retry_max_backoff_ms": "PICLOUD_TRIGGER_RETRY_MAX_BACKOFF_MS",
    "dead_letter_retention_days": "PICLOUD_DEAD_LETTER_RETENTION_DAYS",
    "realtime_heartbeat_sec": "PICLOUD_REALTIME_HEARTBEAT_SEC",
    "realtime_broadcast_capacity": "PICLOUD_REALTIME_BROADCAST_CAPACITY",
    "realtime_resume_max": "PICLOUD_REALTIME_RESUME_MAX",
    "subscriber_token_ttl_min_sec": "PICLOUD_SUBSCRIBER_TOKEN_TTL_MIN_SEC",
    "subscriber_token_ttl_max_sec": "PICLOUD_SUBSCRIBER_TOKEN_TTL_MAX_SEC",
    "subscriber_token_ttl_default_sec": "PICLOUD_SUBSCRIBER_TOKEN_TTL_DEFAULT_SEC",
    "http_allow_private": "PICLOUD_HTTP_ALLOW_PRIVATE",
    "http_max_request_body_bytes": "PICLOUD_HTTP_MAX_REQUEST_BODY_BYTES",
    "http_max_response_body_bytes": "PICLOUD_HTTP_MAX_RESPONSE_BODY_BYTES",
    "cron_tick_interval_ms": "PICLOUD_CRON_TICK_INTERVAL_MS",
    "files_root": "PICLOUD_FILES_ROOT",
    "files_max_file_size_bytes": "PICLOUD_FILES_MAX_FILE_SIZE_BYTES",
    "files_orphan_sweep_interval_sec": "PICLOUD_FILES_ORPHAN_SWEEP_INTERVAL_SEC",
    "files_orphan_tmp_ttl_sec": "PICLOUD_FILES_ORPHAN_TMP_TTL_SEC",
    "kv_max_value_bytes": "PICLOUD_KV_MAX_VALUE_BYTES",
    "kv_max_key_bytes": "PICLOUD_KV_MAX_KEY_BYTES",
    "docs_max_doc_bytes": "PICLOUD_DOCS_MAX_DOC_BYTES",
    "docs_default_page_size": "PICLOUD_DOCS_DEFAULT_PAGE_SIZE",
    "docs_max_page_size": "PICLOUD_DOCS_MAX_PAGE_SIZE",
}

#: Lower bound per integer field; a smaller value is a ConfigError.
_MINIMUM: dict[str, int] = {
    "port": 1,
    "web_workers": 1,
    "worker_processes": 1,
    "worker_threads": 1,
    "db_pool_min_size": 0,
    "db_pool_max_size": 1,
    "db_idle_in_transaction_timeout_ms": 0,
    "db_statement_timeout_ms": 0,
    "max_request_body_bytes": 1,
    "session_ttl_seconds": 1,
    "script_cache_size": 0,
    "module_cache_size": 0,
    "module_import_depth_max": 1,
    "script_timeout_ms": 1,
    "script_max_operations": 0,
    "script_max_call_levels": 1,
    "script_max_string_size": 0,
    "script_max_array_size": 0,
    "script_max_map_size": 0,
    "script_pool_size": 1,
    "max_trigger_depth": 0,
    "trigger_retry_max_attempts": 0,
    "trigger_retry_min_backoff_ms": 0,
    "trigger_retry_max_backoff_ms": 0,
    "dead_letter_retention_days": 1,
    "realtime_heartbeat_sec": 1,
    "realtime_broadcast_capacity": 1,
    "realtime_resume_max": 1,
    "subscriber_token_ttl_min_sec": 1,
    "subscriber_token_ttl_max_sec": 1,
    "subscriber_token_ttl_default_sec": 1,
    "http_max_request_body_bytes": 0,
    "http_max_response_body_bytes": 0,
    "cron_tick_interval_ms": 0,
    "files_max_file_size_bytes": 0,
    "files_orphan_sweep_interval_sec": 1,
    "files_orphan_tmp_ttl_sec": 1,
    "kv_max_value_bytes": 1,
    "kv_max_key_bytes": 1,
    "docs_max_doc_bytes": 2,
    "docs_default_page_size": 1,
    "docs_max_page_size": 1,
}

#: A KV key's stream is ``kv-<app id>-<collection>:<key>`` (at most 512 characters).
KV_KEY_BYTES_CEILING = 400

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

#: The changelog floors the cron poll cadence at one second rather than rejecting less.
CRON_TICK_FLOOR_MS = 1000


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every PiCloud setting; build with :meth:`from_env` (or directly in tests)."""

    database_url: str | None = None
    """PostgreSQL DSN; ``None`` means the embedded server (``picloud dev``, tests)."""
    redis_url: str | None = None
    """Redis URL (``redis://``, ``rediss://`` or ``unix://``); ``None`` means embedded."""
    redis_namespace: str = "picloud"
    """Prefix for every Redis key, channel and Dramatiq queue (tests use one per test)."""
    data_dir: str = "./.picloud"
    """Where the embedded PostgreSQL (``pg/``) and Redis (``redis/``) keep their data."""
    host: str = "127.0.0.1"
    """Interface ``picloud serve`` binds."""
    port: int = 8000
    """TCP port ``picloud serve`` binds."""
    base_domain: str = "localhost"
    """Apps without a custom hostname answer on ``<slug>.<base_domain>``."""
    server: Literal["uvicorn", "granian"] = "granian"
    """ASGI server behind ``picloud serve``."""
    web_workers: int = 1
    """ASGI worker processes for ``picloud serve``."""
    worker_processes: int = 1
    """Dramatiq worker processes for ``picloud worker``."""
    worker_threads: int = 8
    """Dramatiq threads per worker process."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Root log level."""
    db_pool_min_size: int = 1
    """Minimum asyncpg pool size per process."""
    db_pool_max_size: int = 10
    """Maximum asyncpg pool size per process (keeps the per-app append lock queue short)."""
    db_idle_in_transaction_timeout_ms: int = 60_000
    """Server-side backstop against a leaked transaction holding an append lock; 0 = off."""
    db_statement_timeout_ms: int = 0
    """Per-statement timeout for pooled connections; 0 = off."""
    max_request_body_bytes: int = 10 * MiB
    """HTTP requests with a larger body get 413."""
    session_ttl_seconds: int = 86_400
    """Lifetime of a login session token."""
    bootstrap_admin_email: str | None = None
    """If set with the password, this instance admin is created at start-up when no user exists."""
    bootstrap_admin_password: str | None = None
    """Password of the bootstrap admin (never logged)."""
    script_cache_size: int = 256
    """Compiled top-level scripts kept per process."""
    module_cache_size: int = 512
    """Compiled modules kept per process."""
    module_import_depth_max: int = 8
    """Deepest chain of ``import`` a script may build."""
    script_timeout_ms: int = 5_000
    """Wall-clock budget of one script run; past it the request answers 504 ``script_timeout``."""
    script_max_operations: int = 0
    """Evaluation steps one run may take (0 = unlimited: the wall clock governs)."""
    script_max_call_levels: int = 64
    """Deepest function-call nesting of a run."""
    script_max_string_size: int = 4 * MiB
    """Largest string a script may build, in bytes (0 = unlimited)."""
    script_max_array_size: int = 100_000
    """Largest array a script may build, nested arrays counted (0 = unlimited)."""
    script_max_map_size: int = 100_000
    """Largest object map a script may build, nested maps counted (0 = unlimited)."""
    script_pool_size: int = 8
    """Sync-route script runs at once per API process (off the event loop); each run holds
    one Postgres connection of its own for its SDK calls, besides the pool."""
    script_runner: Literal["reactor", "threads"] = "reactor"
    """How runs share threads: ``reactor`` runs them as greenlets on one thread (an SDK
    call waits on its loop; fastest), ``threads`` gives each run a thread of its own (a
    long native call, such as sorting a huge array, then delays no other run)."""
    max_trigger_depth: int = 8
    """A trigger chain deeper than this is skipped (a loop), not dead-lettered."""
    trigger_retry_max_attempts: int = 5
    """Retries of a failing trigger job before it becomes a dead letter."""
    trigger_retry_min_backoff_ms: int = 1_000
    """First retry delay (exponential with jitter from here)."""
    trigger_retry_max_backoff_ms: int = 3_600_000
    """Cap on the retry delay."""
    dead_letter_retention_days: int = 30
    """Resolved dead letters older than this are swept."""
    realtime_heartbeat_sec: int = 30
    """SSE comment heartbeat interval."""
    realtime_broadcast_capacity: int = 64
    """Per-topic in-process buffer before a slow SSE subscriber is dropped."""
    realtime_resume_max: int = 10_000
    """Most publishes an SSE resume replays; further behind, the stream sends ``event: reset``."""
    subscriber_token_ttl_min_sec: int = 10
    """Smallest TTL a subscriber token can be minted with."""
    subscriber_token_ttl_max_sec: int = 86_400
    """Largest TTL a subscriber token can be minted with."""
    subscriber_token_ttl_default_sec: int = 3_600
    """TTL when the script does not pass one."""
    http_allow_private: bool = False
    """Dev only: let ``http::*`` reach loopback and private networks."""
    http_max_request_body_bytes: int = 10 * MiB
    """Largest body a script may send with ``http::*``."""
    http_max_response_body_bytes: int = 10 * MiB
    """Largest response body ``http::*`` reads."""
    cron_tick_interval_ms: int = 30_000
    """Cron scheduler poll cadence (values under 1000 are raised to 1000)."""
    files_root: str = "./data"
    """Directory holding file blobs."""
    files_max_file_size_bytes: int = 100 * MiB
    """Largest file ``files::*`` accepts."""
    files_orphan_sweep_interval_sec: int = 21_600
    """How often temp blobs left by crashes are swept."""
    files_orphan_tmp_ttl_sec: int = 3_600
    """Age after which a temp blob counts as orphaned."""
    kv_max_value_bytes: int = 1 * MiB
    """Largest KV value, measured as its stored JSON (a Blob counts as its base64 text)."""
    kv_max_key_bytes: int = 256
    """Longest KV key in UTF-8 bytes (at most 400, so the key's stream name fits)."""
    docs_max_doc_bytes: int = 1 * MiB
    """Largest document, measured as its stored JSON (a Blob counts as its base64 text)."""
    docs_default_page_size: int = 100
    """Page size of ``docs`` ``list()`` without a limit (and of the admin browse API)."""
    docs_max_page_size: int = 1_000
    """Largest ``list()`` limit and ``$limit``; a ``find()`` returns at most this many."""

    def __post_init__(self) -> None:
        """Range and cross-field checks; each failure names its environment variable."""
        for field, low in _MINIMUM.items():
            value = getattr(self, field)
            if value < low:
                _fail(field, f"must be >= {low}, got {value}")
        if self.cron_tick_interval_ms < CRON_TICK_FLOOR_MS:
            msgspec.structs.force_setattr(self, "cron_tick_interval_ms", CRON_TICK_FLOOR_MS)
        if self.port > 65535:
            _fail("port", f"must be <= 65535, got {self.port}")
        if self.db_pool_min_size > self.db_pool_max_size:
            _fail("db_pool_min_size", "must not exceed PICLOUD_DB_POOL_MAX_SIZE")
        if not (
            self.subscriber_token_ttl_min_sec
            <= self.subscriber_token_ttl_default_sec
            <= self.subscriber_token_ttl_max_sec
        ):
            _fail(
                "subscriber_token_ttl_default_sec",
                "must lie between PICLOUD_SUBSCRIBER_TOKEN_TTL_MIN_SEC and _MAX_SEC",
            )
        if self.trigger_retry_min_backoff_ms > self.trigger_retry_max_backoff_ms:
            _fail("trigger_retry_min_backoff_ms", "must not exceed the max backoff")
        if self.database_url is not None:
            _check_url("database_url", self.database_url, {"postgres", "postgresql"})
        if self.redis_url is not None:
            _check_url("redis_url", self.redis_url, {"redis", "rediss", "unix"})
        if not self.redis_namespace or any(c.isspace() for c in self.redis_namespace):
            _fail("redis_namespace", "must be a non-empty word without spaces")
        if (self.bootstrap_admin_email is None) != (self.bootstrap_admin_password is None):
            given, missing = (
                ("bootstrap_admin_password", "bootstrap_admin_email")
                if self.bootstrap_admin_email is None
                else ("bootstrap_admin_email", "bootstrap_admin_password")
            )
            _fail(missing, f"must be set too when {ENV_VARS[given]} is set")
        if self.kv_max_key_bytes > KV_KEY_BYTES_CEILING:
            _fail("kv_max_key_bytes", f"must be <= {KV_KEY_BYTES_CEILING}")
        if self.docs_default_page_size > self.docs_max_page_size:
            _fail("docs_default_page_size", "must be <= PICLOUD_DOCS_MAX_PAGE_SIZE")
        if not self.base_domain or "/" in self.base_domain:
            _fail("base_domain", f"is not a domain name: {self.base_domain!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``environ`` (default ``os.environ``); empty means unset.

        Raises:
            ConfigError: a value does not parse or is out of range; the message names
                the variable.
        """
        env = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for field, var in ENV_VARS.items():
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                continue
            values[field] = _parse(var, raw.strip(), hints[field])
        try:
            return cls(**values)
        except (TypeError, msgspec.ValidationError) as exc:  # pragma: no cover - defensive
            raise ConfigError(f"invalid settings: {exc}") from exc

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (checks run again)."""
        merged = {f: getattr(self, f) for f in self.__struct_fields__}
        merged.update(changes)
        return type(self)(**merged)

    def redis_key(self, *parts: str) -> str:
        """A Redis key or channel name inside this instance's namespace."""
        return ":".join((self.redis_namespace, *parts))


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from ``os.environ`` on first call."""
    return Settings.from_env()


def _fail(field: str, problem: str) -> typing.NoReturn:
    var = ENV_VARS[field]
    raise ConfigError(f"{var} {problem}", details={"variable": var})


def _check_url(field: str, url: str, schemes: set[str]) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in schemes:
        shown = ", ".join(f"{s}://" for s in sorted(schemes))
        _fail(field, f"must start with one of {shown}")


def _parse(var: str, raw: str, hint: Any) -> Any:
    """Convert one environment string to the field's type, or raise ConfigError."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is bool:
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(
            f"{var} must be a boolean (true/false, 1/0, yes/no, on/off), got {raw!r}",
            details={"variable": var},
        )
    if hint is int:
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise ConfigError(
                f"{var} must be an integer, got {raw!r}", details={"variable": var}
            ) from None
    if origin is Literal:
        low = raw.lower()
        if low not in args:
            allowed = ", ".join(args)
            raise ConfigError(
                f"{var} must be one of {allowed}, got {raw!r}", details={"variable": var}
            )
        return low
    return raw
